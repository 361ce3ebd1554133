/** The container image (TrueNAS, Unraid, Synology Container Manager, plain Docker). */
import { stringify } from 'yaml'
import { GENERATED, RUNTIME_ENV, type Files } from './render-common.js'
import { dataDirOf, portOf, volumeOf, type Manifest } from './manifest.js'

export function renderContainer(m: Manifest): Files {
  const web = portOf(m, 'web')
  const peer = portOf(m, 'peer')
  const data = volumeOf(m, 'data')
  const shares = volumeOf(m, 'shares')
  const files: Files = new Map()
  files.set('packaging/container/Dockerfile', [
    '# syntax=docker/dockerfile:1',
    `# ${GENERATED}`,
    '# Build from the repository root (BuildKit reads Dockerfile.dockerignore beside this file):',
    `#   docker build -f packaging/container/Dockerfile -t ${m.image.repository}:${m.version} .`,
    '# Multi-arch (x86-64 and ARM64), with QEMU for the arm64 stage:',
    `#   docker buildx build --platform linux/amd64,linux/arm64 -f packaging/container/Dockerfile -t ${m.image.repository}:${m.version} --push .`,
    '# glibc (Debian) base: sodium-native ships no musl prebuild, and its glibc ones need GLIBC_2.33.',
    'FROM node:22-bookworm-slim AS build',
    'RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*',
    'WORKDIR /app',
    'COPY package.json package-lock.json ./',
    '# The native modules (the prover\'s BN254 code, the ingest loops), compiled by npm ci\'s install script (required here).',
    'COPY scripts/build-native.mjs ./scripts/',
    'COPY native/bn254 ./native/bn254',
    'COPY native/ingest ./native/ingest',
    '# Native add-ons resolve or compile here, inside the target platform\'s stage.',
    'RUN QULOUD_REQUIRE_NATIVE=1 npm ci',
    'COPY tsconfig.json tsconfig.build.json ./',
    'COPY scripts ./scripts',
    'COPY src ./src',
    'RUN npm run build && npm prune --omit=dev',
    '',
    'FROM node:22-bookworm-slim',
    `LABEL org.opencontainers.image.title="${m.title}" \\`,
    `      org.opencontainers.image.description="${m.summary}" \\`,
    `      org.opencontainers.image.source="${m.source}" \\`,
    `      org.opencontainers.image.licenses="${m.license}" \\`,
    `      org.opencontainers.image.version="${m.version}"`,
    `ENV NODE_ENV=production ${data.env}=${dataDirOf(m)} ${m.ssdp.env}=true ${RUNTIME_ENV}`,
    'WORKDIR /app',
    'COPY --from=build /app/package.json ./',
    'COPY --from=build /app/node_modules ./node_modules',
    'COPY --from=build /app/dist ./dist',
    'COPY --from=build /app/native/bn254/build/Release/bn254_msm.node ./native/bn254/build/Release/',
    'COPY --from=build /app/native/ingest/build/Release/quloud_ingest.node ./native/ingest/build/Release/',
    'COPY ui ./ui',
    'COPY circuits/build ./circuits/build',
    'COPY LICENSE ./',
    'COPY packaging/container/entrypoint.sh packaging/container/healthcheck.mjs /usr/local/lib/quloud/',
    `# Any uid may run the image: 568:568 on TrueNAS, 99:100 on Unraid. The node creates its own`,
    `# folder ${dataDirOf(m)} (0700, files 0600) as that uid, so the mount point may be world-writable.`,
    `RUN chmod 0755 /usr/local/lib/quloud/entrypoint.sh && install -d -m 1777 ${data.path} && install -d -m 0755 ${shares.path}`,
    `USER ${m.run.uid}:${m.run.gid}`,
    `EXPOSE ${web.port}/tcp ${peer.port}/tcp ${m.ssdp.port}/udp`,
    `VOLUME ["${data.path}"]`,
    'HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=5 \\',
    '  CMD ["node", "/usr/local/lib/quloud/healthcheck.mjs"]',
    'ENTRYPOINT ["/usr/local/lib/quloud/entrypoint.sh"]',
    'CMD ["start"]',
    '',
  ].join('\n'))
  files.set('packaging/container/Dockerfile.dockerignore', [`# ${GENERATED}`, '*', '!package.json', '!package-lock.json', '!tsconfig.json', '!tsconfig.build.json', '!scripts/copy-assets.mjs', '!scripts/build-native.mjs', '!native/bn254/*.c', '!native/bn254/*.h', '!native/bn254/binding.gyp', '!native/ingest/*.c', '!native/ingest/binding.gyp', '!src/**', 'src/**/*.test.ts', '!ui/**', '!circuits/build/**', '!LICENSE', '!packaging/container/entrypoint.sh', '!packaging/container/healthcheck.mjs', ''].join('\n'))
  files.set('packaging/container/entrypoint.sh', [
    '#!/bin/sh',
    `# ${GENERATED}`,
    '# Container entry: maps the NAS conventions onto QULOUD_* variables, then runs the node.',
    '# In host network mode Unraid passes each Port setting as TCP_PORT_<container port>=<host port>;',
    '# a QULOUD_* variable set explicitly always wins. QULOUD_APP_DIR is where the app is installed.',
    'set -eu',
    `: "\${${web.env}:=0.0.0.0:\${TCP_PORT_${web.port}:-${web.port}}}"`,
    `: "\${${peer.env}:=0.0.0.0:\${TCP_PORT_${peer.port}:-${peer.port}}}"`,
    `: "\${${data.env}:=${dataDirOf(m)}}"`,
    `export ${web.env} ${peer.env} ${data.env}`,
    `exec node "\${QULOUD_APP_DIR:-/app}/${m.entry}" "$@"`,
    '',
  ].join('\n'))
  files.set('packaging/container/healthcheck.mjs', [
    `// ${GENERATED}`,
    `// Docker HEALTHCHECK: exit 0 when the node answers ${m.healthPath} with 200. It runs outside the`,
    '// entrypoint, so it derives the address the same way entrypoint.sh does.',
    "import { get } from 'node:http'",
    '',
    `const listen = process.env.${web.env} || \`0.0.0.0:\${process.env.TCP_PORT_${web.port} || ${web.port}}\``,
    "const at = listen.lastIndexOf(':')",
    "let host = listen.slice(0, at).replace(/^\\[|\\]$/g, '')",
    "if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1'",
    `const req = get({ host, port: Number(listen.slice(at + 1)), path: '${m.healthPath}', timeout: 4000 }, (res) => {`,
    '  res.resume()',
    '  process.exit(res.statusCode === 200 ? 0 : 1)',
    '})',
    "req.on('timeout', () => req.destroy(new Error('timeout')))",
    "req.on('error', () => process.exit(1))",
    '',
  ].join('\n'))
  // A plain compose file: generic Docker hosts, and TrueNAS "Install via YAML".
  const compose = {
    name: m.name,
    services: {
      [m.name]: {
        image: `${m.image.repository}:${m.version}`,
        container_name: m.name,
        restart: 'unless-stopped',
        network_mode: 'host',
        user: `${m.run.uid}:${m.run.gid}`,
        environment: { [m.ssdp.env]: 'true', ...Object.fromEntries(m.env.filter((e) => !e.secret).map((e) => [e.name, e.default])) },
        volumes: [
          { type: 'volume', source: 'quloud-data', target: data.path },
          { type: 'bind', source: '/srv/shares', target: shares.path, read_only: true },
        ],
        healthcheck: { test: ['CMD', 'node', '/usr/local/lib/quloud/healthcheck.mjs'], interval: '30s', timeout: '5s', start_period: '30s', retries: 5 },
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges=true'],
      },
    },
    volumes: { 'quloud-data': {} },
  }
  files.set('packaging/container/compose.yaml', `# ${GENERATED}\n# Host networking for LAN discovery (SSDP multicast); change /srv/shares to the folder to back up.\n${stringify(compose)}`)
  return files
}

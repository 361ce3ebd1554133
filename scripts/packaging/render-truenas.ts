/**
 * A TrueNAS catalog app (ix-dev/<train>/quloud/ in truenas/apps): app.yaml, ix_values.yaml,
 * questions.yaml with the library's fixed groups and field shapes, a compose template through the
 * library's render API, test values, README. Shapes follow research/nas-packaging.md §1.
 */
import { stringify } from 'yaml'
import { GENERATED, type Files } from './render-common.js'
import { dataDirOf, portOf, volumeOf, type Manifest } from './manifest.js'
import { iconSvg } from './icon.js'

export const TRUENAS_GROUPS = ['Quloud Configuration', 'User and Group Configuration', 'Network Configuration', 'Storage Configuration', 'Labels Configuration', 'Resources Configuration'] as const

const yamlDoc = (value: unknown) => `# ${GENERATED}\n${stringify(value, { lineWidth: 0 })}`

function portQuestion(variable: string, label: string, port: number, description: string) {
  return {
    variable,
    label,
    description,
    schema: {
      type: 'dict',
      attrs: [
        {
          variable: 'bind_mode',
          label: 'Port Bind Mode',
          description: 'Ignored when Host Network is on.',
          schema: {
            type: 'string',
            default: 'published',
            enum: [
              { value: 'published', description: 'Publish port on the host for external access' },
              { value: 'exposed', description: 'Expose port for inter-container communication' },
              { value: '', description: 'None' },
            ],
          },
        },
        { variable: 'port_number', label: 'Port Number', schema: { type: 'int', default: port, min: 1, max: 65535, required: true } },
        {
          variable: 'host_ips',
          label: 'Host IPs',
          description: 'IPs on the TrueNAS host to bind this port',
          schema: { type: 'list', show_if: [['bind_mode', '=', 'published']], default: [], items: [{ variable: 'host_ip', label: 'Host IP', schema: { type: 'string', required: true, $ref: ['definitions/node_bind_ip'] } }] },
        },
      ],
    },
  }
}

function dataStorageQuestion(title: string, description: string) {
  return {
    variable: 'data',
    label: `${title} Storage`,
    description,
    schema: {
      type: 'dict',
      attrs: [
        {
          variable: 'type',
          label: 'Type',
          description: 'ixVolume: a dataset created automatically by the system.\nHost Path: a path that already exists on the system.',
          schema: {
            type: 'string',
            required: true,
            immutable: true,
            default: 'ix_volume',
            enum: [
              { value: 'host_path', description: 'Host Path (Path that already exists on the system)' },
              { value: 'ix_volume', description: 'ixVolume (Dataset created automatically by the system)' },
            ],
          },
        },
        {
          variable: 'ix_volume_config',
          label: 'ixVolume Configuration',
          description: 'The configuration for the ixVolume dataset.',
          schema: {
            type: 'dict',
            show_if: [['type', '=', 'ix_volume']],
            $ref: ['normalize/ix_volume'],
            attrs: [
              { variable: 'acl_enable', label: 'Enable ACL', description: 'Enable ACL for the storage.', schema: { type: 'boolean', default: false } },
              { variable: 'dataset_name', label: 'Dataset Name', description: 'The name of the dataset to use for storage.', schema: { type: 'string', required: true, hidden: true, default: 'data' } },
            ],
          },
        },
        {
          variable: 'host_path_config',
          label: 'Host Path Configuration',
          schema: {
            type: 'dict',
            show_if: [['type', '=', 'host_path']],
            attrs: [
              { variable: 'acl_enable', label: 'Enable ACL', description: 'Enable ACL for the storage.', schema: { type: 'boolean', default: false } },
              { variable: 'path', label: 'Host Path', description: 'The host path to use for storage.', schema: { type: 'hostpath', show_if: [['acl_enable', '=', false]], required: true } },
            ],
          },
        },
      ],
    },
  }
}

function sharesQuestion(title: string, description: string, containerRoot: string) {
  return {
    variable: 'shares',
    label: title,
    description: `${description} Mount each dataset under ${containerRoot}/ in the container.`,
    schema: {
      type: 'list',
      default: [],
      items: [
        {
          variable: 'share',
          label: 'Share',
          schema: {
            type: 'dict',
            attrs: [
              { variable: 'type', label: 'Type', schema: { type: 'string', required: true, default: 'host_path', hidden: true, enum: [{ value: 'host_path', description: 'Host Path (Path that already exists on the system)' }] } },
              { variable: 'read_only', label: 'Read Only', schema: { type: 'boolean', default: true, hidden: true } },
              { variable: 'mount_path', label: 'Mount Path', description: `Where the dataset appears in the container, e.g. ${containerRoot}/photos.`, schema: { type: 'path', required: true } },
              {
                variable: 'host_path_config',
                label: 'Host Path Configuration',
                schema: { type: 'dict', attrs: [{ variable: 'path', label: 'Host Path', description: 'A dataset, e.g. /mnt/tank/photos.', schema: { type: 'hostpath', required: true } }] },
              },
            ],
          },
        },
      ],
    },
  }
}

export function renderTruenas(m: Manifest): Files {
  const dir = `packaging/truenas/${m.name}`
  const web = portOf(m, 'web')
  const peer = portOf(m, 'peer')
  const data = volumeOf(m, 'data')
  const shares = volumeOf(m, 'shares')
  const key = m.name.replace(/-/g, '_')
  const files: Files = new Map()
  const uid = m.run.uid
  files.set(`${dir}/app.yaml`, yamlDoc({
    annotations: { min_scale_version: m.truenas.minScaleVersion },
    app_version: m.version,
    capabilities: [],
    categories: m.categories,
    changelog_url: `${m.source}/blob/main/CHANGELOG.md`,
    date_added: m.truenas.dateAdded,
    description: m.summary,
    home: m.homepage,
    host_mounts: [],
    icon: `https://media.sys.truenas.net/apps/${m.name}/icons/icon.svg`,
    keywords: m.keywords,
    lib_version: m.truenas.libVersion,
    lib_version_hash: m.truenas.libVersionHash,
    maintainers: [{ email: m.maintainer.email, name: m.maintainer.name, url: m.maintainer.url }],
    name: m.name,
    run_as_context: [{ description: `Container [${m.name}] can run as any non-root user and group.`, gid: m.run.gid, group_name: 'Host group is [apps]', uid, user_name: 'Host user is [apps]' }],
    screenshots: [],
    sources: [m.source],
    title: m.title,
    train: m.truenas.train,
    version: `1.0.${m.build - 1}`,
  }))
  files.set(`${dir}/ix_values.yaml`, yamlDoc({
    images: {
      image: { repository: m.image.repository, tag: m.version },
      container_utils_image: { repository: m.truenas.containerUtils.repository, tag: m.truenas.containerUtils.tag },
    },
    consts: { [`${key}_container_name`]: m.name, perms_container_name: 'permissions', data_path: data.path, data_dir: dataDirOf(m) },
  }))
  const questions = {
    groups: TRUENAS_GROUPS.map((name) => ({ name, description: `Configure ${name.replace(' Configuration', '').toLowerCase()} for ${m.title}` })),
    questions: [
      { variable: 'TZ', group: 'Quloud Configuration', label: 'Timezone', schema: { type: 'string', default: 'Etc/UTC', required: true, $ref: ['definitions/timezone'] } },
      {
        variable: key,
        label: '',
        group: 'Quloud Configuration',
        schema: {
          type: 'dict',
          attrs: [
            ...m.env.map((e) => ({ variable: e.name.toLowerCase().replace(/^quloud_/, ''), label: e.title, description: e.description, schema: { type: 'string', default: e.default, ...(e.secret ? { private: true } : {}) } })),
            {
              variable: 'additional_envs',
              label: 'Additional Environment Variables',
              schema: {
                type: 'list',
                default: [],
                items: [{ variable: 'env', label: 'Environment Variable', schema: { type: 'dict', attrs: [{ variable: 'name', label: 'Name', schema: { type: 'string', required: true } }, { variable: 'value', label: 'Value', schema: { type: 'string' } }] } }],
              },
            },
          ],
        },
      },
      {
        variable: 'run_as',
        label: '',
        group: 'User and Group Configuration',
        schema: {
          type: 'dict',
          attrs: [
            { variable: 'user', label: 'User ID', description: `The user id that ${m.title} files will be owned by.`, schema: { type: 'int', min: 568, default: uid, required: true } },
            { variable: 'group', label: 'Group ID', description: `The group id that ${m.title} files will be owned by.`, schema: { type: 'int', min: 568, default: m.run.gid, required: true } },
          ],
        },
      },
      {
        variable: 'network',
        label: '',
        group: 'Network Configuration',
        schema: {
          type: 'dict',
          attrs: [
            portQuestion('web_port', 'WebUI Port', web.port, web.description),
            portQuestion('peer_port', 'Peer Port', peer.port, peer.description),
            { variable: 'host_network', label: 'Host Network', description: `Bind to the host network. ${m.ssdp.description}`, schema: { type: 'boolean', default: true } },
          ],
        },
      },
      {
        variable: 'storage',
        label: '',
        group: 'Storage Configuration',
        schema: { type: 'dict', attrs: [dataStorageQuestion(data.title, data.description), sharesQuestion(shares.title, shares.description, shares.path)] },
      },
      {
        variable: 'labels',
        label: '',
        group: 'Labels Configuration',
        schema: {
          type: 'list',
          default: [],
          items: [
            {
              variable: 'label',
              label: 'Label',
              schema: {
                type: 'dict',
                attrs: [
                  { variable: 'key', label: 'Key', schema: { type: 'string', required: true } },
                  { variable: 'value', label: 'Value', schema: { type: 'string', required: true } },
                  { variable: 'containers', label: 'Containers', description: 'Containers where the label should be applied', schema: { type: 'list', items: [{ variable: 'container', label: 'Container', schema: { type: 'string', required: true, enum: [{ value: m.name, description: m.name }] } }] } },
                ],
              },
            },
          ],
        },
      },
      {
        variable: 'resources',
        label: '',
        group: 'Resources Configuration',
        schema: {
          type: 'dict',
          attrs: [
            {
              variable: 'limits',
              label: 'Limits',
              schema: {
                type: 'dict',
                attrs: [
                  { variable: 'cpus', label: 'CPUs', description: 'CPUs limit for Quloud.', schema: { type: 'int', default: 2, required: true } },
                  { variable: 'memory', label: 'Memory (in MB)', description: 'Memory limit for Quloud.', schema: { type: 'int', default: 2048, required: true } },
                ],
              },
            },
          ],
        },
      },
    ],
  }
  files.set(`${dir}/questions.yaml`, yamlDoc(questions))
  const envLines = m.env.map((e) => `{% do c1.environment.add_env("${e.name}", values.${key}.${e.name.toLowerCase().replace(/^quloud_/, '')}) %}`)
  files.set(`${dir}/templates/docker-compose.yaml`, [
    `{# ${GENERATED} #}`,
    '{% set tpl = ix_lib.base.render.Render(values) %}',
    `{% set c1 = tpl.add_container(values.consts.${key}_container_name, "image") %}`,
    '{% set perm_container = tpl.deps.perms(values.consts.perms_container_name) %}',
    '{% set perms_config = {"uid": values.run_as.user, "gid": values.run_as.group, "mode": "check"} %}',
    '',
    '{% do c1.set_user(values.run_as.user, values.run_as.group) %}',
    `{% do c1.healthcheck.set_test("node", {"port": values.network.web_port.port_number, "path": "${m.healthPath}"}) %}`,
    `{% do c1.environment.add_env("${data.env}", values.consts.data_dir) %}`,
    `{% do c1.environment.add_env("${web.env}", "0.0.0.0:" ~ values.network.web_port.port_number) %}`,
    `{% do c1.environment.add_env("${peer.env}", "0.0.0.0:" ~ values.network.peer_port.port_number) %}`,
    '{# LAN discovery needs multicast, which only host networking carries. #}',
    `{% do c1.environment.add_env("${m.ssdp.env}", "true" if values.network.host_network else "false") %}`,
    ...envLines,
    `{% do c1.environment.add_user_envs(values.${key}.additional_envs) %}`,
    '',
    '{% if not values.network.host_network %}',
    '  {% do c1.add_port(values.network.web_port) %}',
    '  {% do c1.add_port(values.network.peer_port) %}',
    '{% endif %}',
    '',
    '{% do c1.add_storage(values.consts.data_path, values.storage.data) %}',
    '{% do perm_container.add_or_skip_action("data", values.storage.data, perms_config) %}',
    '{# Every share is mounted read-only: Quloud never writes to the folders it backs up. #}',
    '{% for share in values.storage.shares %}',
    '  {% do share.update({"read_only": true}) %}',
    '  {% do c1.add_storage(share.mount_path, share) %}',
    '{% endfor %}',
    '',
    '{% if perm_container.has_actions() %}',
    '  {% do perm_container.activate() %}',
    '  {% do c1.depends.add_dependency(values.consts.perms_container_name, "service_completed_successfully") %}',
    '{% endif %}',
    '',
    '{% do tpl.portals.add(values.network.web_port) %}',
    '',
    '{{ tpl.render() | tojson }}',
    '',
  ].join('\n'))
  const testValues = (hostNetwork: boolean) => yamlDoc({
    resources: { limits: { cpus: 2.0, memory: 2048 } },
    TZ: 'Etc/UTC',
    [key]: { ...Object.fromEntries(m.env.map((e) => [e.name.toLowerCase().replace(/^quloud_/, ''), e.default])), additional_envs: [] },
    network: { host_network: hostNetwork, web_port: { bind_mode: 'published', port_number: web.port }, peer_port: { bind_mode: 'published', port_number: peer.port } },
    run_as: { user: m.run.uid, group: m.run.gid },
    ix_volumes: { data: `/opt/tests/mnt/${m.name}/data` },
    storage: {
      data: { type: 'ix_volume', ix_volume_config: { dataset_name: 'data', create_host_path: true } },
      shares: [{ type: 'host_path', read_only: true, mount_path: `${shares.path}/photos`, host_path_config: { path: '/opt/tests/mnt/photos', create_host_path: true } }],
    },
  })
  files.set(`${dir}/templates/test_values/basic-values.yaml`, testValues(false))
  files.set(`${dir}/templates/test_values/host-net-values.yaml`, testValues(true))
  files.set(`${dir}/README.md`, [
    `<!-- ${GENERATED} -->`,
    `# ${m.title}`,
    '',
    `[${m.title}](${m.homepage}) — ${m.description}`,
    '',
    `The settings page opens from the **Web UI** button (port ${web.port}). Peers reach this node on port ${peer.port} (HTTPS).`,
    'Host networking is on by default so that nodes on your LAN find each other (SSDP); the datasets',
    `you add under "${shares.title}" are mounted read-only, and the app's user (568, "apps") needs read`,
    'access to them.',
    '',
  ].join('\n'))
  files.set(`${dir}/icon.svg`, iconSvg(m.icon.background, m.icon.foreground))
  return files
}

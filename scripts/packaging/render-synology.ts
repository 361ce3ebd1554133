/**
 * Synology DSM >= 7.2: the static parts of the .spk (INFO template, conf/, scripts/, wizard,
 * icons, DSM menu entry, port file). scripts/packaging/spk.ts assembles one .spk per CPU family.
 */
import { GENERATED, RUNTIME_ENV, type Files } from './render-common.js'
import { portOf, spkVersion, volumeOf, type Manifest } from './manifest.js'
import { iconPng } from './icon.js'

export const SPK_SCRIPTS = ['preinst', 'postinst', 'preuninst', 'postuninst', 'preupgrade', 'postupgrade', 'start-stop-status'] as const
export const DSM_ICON_SIZES = [16, 24, 32, 48, 64, 72, 256] as const

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`
const sh = (...lines: string[]) => ['#!/bin/sh', `# ${GENERATED}`, ...lines, ''].join('\n')

export function renderSynology(m: Manifest): Files {
  const s = m.synology
  const pkg = s.package
  const web = portOf(m, 'web')
  const peer = portOf(m, 'peer')
  const data = volumeOf(m, 'data')
  const dir = 'packaging/synology'
  const appId = `org.quloud.${pkg}`
  const files: Files = new Map()
  files.set(`${dir}/INFO.in`, [
    `package="${pkg}"`,
    `version="${spkVersion(m)}"`,
    `os_min_ver="${s.osMinVersion}"`,
    `description="${m.summary}"`,
    'arch="@ARCH@"',
    `maintainer="${m.maintainer.name}"`,
    `maintainer_url="${m.maintainer.url}"`,
    `displayname="${m.title}"`,
    `install_dep_packages="${s.nodePackage}"`,
    'dsmuidir="ui"',
    `dsmappname="${appId}"`,
    'adminprotocol="http"',
    `adminport="${web.port}"`,
    'adminurl="/"',
    'ctl_stop="yes"',
    `support_url="${m.support}"`,
    `helpurl="${m.homepage}"`,
    '',
  ].join('\n'))
  files.set(`${dir}/conf/privilege`, json({ defaults: { 'run-as': 'package' } }))
  files.set(`${dir}/conf/resource`, json({
    'port-config': { 'protocol-file': `app/${pkg}.sc` },
    'data-share': { shares: [{ name: '{{wizard_backup_share}}', permission: { ro: [pkg] } }] },
  }))
  // The port file: one section per service, so DSM's firewall and port-forwarding pickers list them.
  const services = [
    { id: 'web', title: `${m.title} settings page (HTTP)`, forward: 'no', ports: `${web.port}/tcp` },
    { id: 'peer', title: `${m.title} peers (HTTPS)`, forward: 'yes', ports: `${peer.port}/tcp` },
    { id: 'ssdp', title: `${m.title} LAN discovery (SSDP)`, forward: 'no', ports: `${m.ssdp.port}/udp` },
  ]
  files.set(`${dir}/app/${pkg}.sc`, services.map((v) => [`[${pkg}_${v.id}]`, `title="${v.title}"`, `desc="${m.title}"`, `port_forward="${v.forward}"`, `dst.ports="${v.ports}"`, ''].join('\n')).join('\n'))
  files.set(`${dir}/ui/config`, json({
    '.url': {
      [appId]: { type: 'url', title: m.title, desc: `${m.title} settings`, icon: 'images/icon_{0}.png', protocol: 'http', port: String(web.port), url: '/', allUsers: false, grantPrivilege: 'local' },
    },
  }))
  for (const size of DSM_ICON_SIZES) files.set(`${dir}/ui/images/icon_${size}.png`, iconPng(size, m.icon.background, m.icon.foreground))
  files.set(`${dir}/PACKAGE_ICON.PNG`, iconPng(64, m.icon.background, m.icon.foreground))
  files.set(`${dir}/PACKAGE_ICON_256.PNG`, iconPng(256, m.icon.background, m.icon.foreground))
  files.set(`${dir}/WIZARD_UIFILES/install_uifile`, json([
    {
      step_title: m.title,
      items: [
        {
          type: 'textfield',
          desc: `Name of an existing shared folder to back up. The package user "${pkg}" gets read-only access to it. Grant it more folders later in Control Panel > Shared Folder > Edit > Permissions > System internal user.`,
          subitems: [{ key: 'wizard_backup_share', desc: 'Shared folder', defaultValue: 'homes', validator: { allowBlank: false, regex: { expr: '/^[\\w .-]+$/', errorText: 'Enter a shared folder name, not a path.' } } }],
        },
      ],
    },
  ]))
  const noop = (what: string) => sh(`# ${what}: nothing to do; a non-zero exit would abort or mark the package broken.`, 'exit 0')
  files.set(`${dir}/scripts/preinst`, noop('Before install'))
  files.set(`${dir}/scripts/postinst`, sh(
    '# The data folder lives in var/, which survives upgrades; it holds the keys, so only the package user may read it.',
    `mkdir -p "\${SYNOPKG_PKGVAR}/data" || exit 1`,
    `chmod 0700 "\${SYNOPKG_PKGVAR}/data" || exit 1`,
    'exit 0',
  ))
  files.set(`${dir}/scripts/preuninst`, noop('Before uninstall (the node is already stopped)'))
  files.set(`${dir}/scripts/postuninst`, noop('After uninstall'))
  files.set(`${dir}/scripts/preupgrade`, noop('Before upgrade (var/ with the data folder is kept)'))
  files.set(`${dir}/scripts/postupgrade`, noop('After upgrade'))
  files.set(`${dir}/scripts/start-stop-status`, sh(
    '# DSM runs this as the package user (conf/privilege run-as: package). status exit codes:',
    '# 0 running, 1 dead with a pid file, 3 not running (Synology Developer Guide, scripts).',
    '# SPK_TEST_NODE replaces Synology\'s node in the offline lifecycle test.',
    `NODE="\${SPK_TEST_NODE:-/var/packages/${s.nodePackage}/target/usr/local/bin/node}"`,
    'APP="${SYNOPKG_PKGDEST}/app"',
    `PID_FILE="\${SYNOPKG_PKGVAR}/${pkg}.pid"`,
    `LOG_FILE="\${SYNOPKG_PKGVAR}/${pkg}.log"`,
    'say() { echo "$1" > "${SYNOPKG_TEMP_LOGFILE:-/dev/stderr}"; }',
    'is_running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }',
    'case "$1" in',
    '  start)',
    '    is_running && exit 0',
    `    if [ ! -x "$NODE" ]; then say "${m.title} needs Synology's ${s.nodePackage} package."; exit 1; fi`,
    '    # better-sqlite3 is built for one Node.js ABI; refuse a different node instead of crashing later.',
    '    abi=$("$NODE" -p process.versions.modules 2>/dev/null)',
    `    if [ "$abi" != "${s.nodeAbi}" ]; then say "${m.title} was built for Node.js ABI ${s.nodeAbi} (${s.nodePackage}), not $abi."; exit 1; fi`,
    `    ${data.env}="\${${data.env}:-\${SYNOPKG_PKGVAR}/data}" \\`,
    `    ${web.env}="\${${web.env}:-0.0.0.0:${web.port}}" \\`,
    `    ${peer.env}="\${${peer.env}:-0.0.0.0:${peer.port}}" \\`,
    `    ${m.ssdp.env}="\${${m.ssdp.env}:-true}" \\`,
    `    ${RUNTIME_ENV} nohup "$NODE" "$APP/${m.entry}" start >> "$LOG_FILE" 2>&1 &`,
    '    echo $! > "$PID_FILE"',
    '    exit 0',
    '    ;;',
    '  stop)',
    '    if is_running; then',
    '      pid=$(cat "$PID_FILE")',
    '      kill "$pid"',
    '      # The node stops cleanly on SIGTERM; give it 30 s before forcing.',
    '      n=0',
    '      while kill -0 "$pid" 2>/dev/null && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done',
    '      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"',
    '    fi',
    '    rm -f "$PID_FILE"',
    '    exit 0',
    '    ;;',
    '  status)',
    '    is_running && exit 0',
    '    [ -f "$PID_FILE" ] && exit 1',
    '    exit 3',
    '    ;;',
    '  log)',
    '    echo "$LOG_FILE"',
    '    exit 0',
    '    ;;',
    '  prestart|prestop)',
    '    exit 0',
    '    ;;',
    '  *)',
    '    exit 1',
    '    ;;',
    'esac',
  ))
  return files
}

/** What every renderer returns: repository-relative path → contents (text or bytes). */
export type Files = Map<string, string | Uint8Array>

export const GENERATED = 'Generated from plugin/quloud.plugin.json by `npm run package`: edit the manifest, not this file.'

/** Files that must be executable once written. */
export const isExecutable = (path: string): boolean => path.endsWith('.sh') || path.startsWith('packaging/synology/scripts/')

export const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

import { inputInvalid } from '../errors.js'
import { asShareId, type ShareId } from '../ids.js'
import { fromHex, toHex } from '../../shared/bytes.js'
import { encodeRecoveryKey, parseRecoveryKey } from '../crypto/index.js'
import { checkEntryName } from './names.js'

const HEADER = 'quloud share key v1'

/** One share handed to a friend: its id and key, a name, and peers where its pointer can be found. */
export interface SharedShare {
  name: string
  shareId: ShareId
  shareKey: Uint8Array
  peers: string[]
}

/**
 * The text a share key is exported as (and what its QR code holds). The key uses the recovery
 * key's alphabet and check digits, so a mistyped character is caught on import.
 */
export function encodeShareKeyText(s: SharedShare): string {
  return [HEADER, `name: ${s.name}`, `share: ${toHex(s.shareId)}`, `key: ${encodeRecoveryKey(s.shareKey)}`, ...s.peers.map((p) => `peer: ${p}`), ''].join('\n')
}

export function parseShareKeyText(text: string): SharedShare {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  if (lines[0] !== HEADER) throw inputInvalid(`not a share key: the first line must be "${HEADER}"`)
  const fields = new Map<string, string[]>()
  for (const line of lines.slice(1)) {
    const m = /^([a-z]+):\s*(.+)$/.exec(line)
    if (!m) throw inputInvalid('a share key line is malformed')
    fields.set(m[1] as string, [...(fields.get(m[1] as string) ?? []), m[2] as string])
  }
  const one = (k: string) => {
    const v = fields.get(k)
    if (!v || v.length !== 1) throw inputInvalid(`a share key needs exactly one "${k}:" line`)
    return v[0] as string
  }
  const id = fromHex(one('share'))
  if (!id || id.length !== 16) throw inputInvalid('the share id of the share key is malformed')
  const peers = (fields.get('peer') ?? []).map((p) => {
    if (!/^https:\/\/[^\s/]{1,200}\/?$/.test(p)) throw inputInvalid('a peer of the share key is not an https address')
    return p.replace(/\/$/, '')
  })
  return { name: checkEntryName(one('name')), shareId: asShareId(id), shareKey: parseRecoveryKey(one('key')), peers }
}

import { buildPoseidon } from 'circomlibjs'
import type { Poseidon } from '../../core/ports/poseidon.js'
import { inputInvalid } from '../../core/errors.js'
import { isCanonicalFieldElement } from '../../core/crypto/index.js'

/** Poseidon from circomlibjs: the same constants as circomlib's circuit template. */
export class CircomlibPoseidon implements Poseidon {
  private constructor(private readonly impl: Awaited<ReturnType<typeof buildPoseidon>>) {}

  static async create(): Promise<CircomlibPoseidon> {
    return new CircomlibPoseidon(await buildPoseidon())
  }

  hash(inputs: readonly bigint[]): bigint {
    if (inputs.length < 1 || inputs.length > 16 || !inputs.every(isCanonicalFieldElement)) throw inputInvalid('poseidon takes 1 to 16 canonical field elements')
    return this.impl.F.toObject(this.impl(inputs))
  }
}

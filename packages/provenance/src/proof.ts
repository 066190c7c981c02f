/** The CaptureProof bundle: a capture job's inline output (docs/spec.md §7.3). */

import { CaptureProof, MAX_CAPTURE_WITNESSES, MAX_MESSAGE_SIZE, MAX_WITNESS_HISTORY } from '@shoal/records'
import { errorMessage } from '@shoal/utils'
import { InvalidCaptureProofError } from './errors.js'

/** The parts of a CaptureProof, as envelope bytes (opened by `verifyCapture`). */
export interface CaptureProofParts {
  attestation: Uint8Array
  witnesses: Uint8Array[]
  history: Uint8Array[]
}

/** Throw InvalidCaptureProofError unless the parts keep the CaptureProof limits. */
function checkLimits (parts: CaptureProofParts): void {
  if (parts.attestation.byteLength === 0) {
    throw new InvalidCaptureProofError('CaptureProof has no attestation')
  }
  if (parts.witnesses.length > MAX_CAPTURE_WITNESSES) {
    throw new InvalidCaptureProofError(`CaptureProof has ${parts.witnesses.length} witnesses, limit ${MAX_CAPTURE_WITNESSES}`)
  }
  const maxHistory = MAX_WITNESS_HISTORY * parts.witnesses.length
  if (parts.history.length > maxHistory) {
    throw new InvalidCaptureProofError(`CaptureProof has ${parts.history.length} history receipts for ${parts.witnesses.length} witnesses, limit ${maxHistory}`)
  }
}

/** Encode a CaptureProof; throws InvalidCaptureProofError for parts its peers would refuse. */
export function encodeCaptureProof (parts: CaptureProofParts): Uint8Array {
  checkLimits(parts)
  const bytes = CaptureProof.encode({ attestation: parts.attestation, witnesses: parts.witnesses, history: parts.history })
  if (bytes.byteLength > MAX_MESSAGE_SIZE.CaptureProof) {
    throw new InvalidCaptureProofError(`CaptureProof is ${bytes.byteLength} bytes, limit ${MAX_MESSAGE_SIZE.CaptureProof}`)
  }
  return bytes
}

/** Decode a CaptureProof within its limits; throws InvalidCaptureProofError. */
export function decodeCaptureProof (bytes: Uint8Array): CaptureProofParts {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidCaptureProofError('CaptureProof must be bytes')
  }
  if (bytes.byteLength > MAX_MESSAGE_SIZE.CaptureProof) {
    throw new InvalidCaptureProofError(`CaptureProof is ${bytes.byteLength} bytes, limit ${MAX_MESSAGE_SIZE.CaptureProof}`)
  }
  let proof: CaptureProof
  try {
    proof = CaptureProof.decode(bytes, {
      limits: { witnesses: MAX_CAPTURE_WITNESSES, history: MAX_WITNESS_HISTORY * MAX_CAPTURE_WITNESSES }
    })
  } catch (err: unknown) {
    throw new InvalidCaptureProofError(`CaptureProof does not decode: ${errorMessage(err)}`)
  }
  const parts = { attestation: proof.attestation, witnesses: proof.witnesses, history: proof.history }
  checkLimits(parts)
  return parts
}

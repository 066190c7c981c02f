/** The CaptureProof bundle: a capture job's inline output (docs/spec.md §6.3). */

/** The parts of a CaptureProof, as envelope bytes (opened by `verifyCapture`). */
export interface CaptureProofParts {
  attestation: Uint8Array
  witnesses: Uint8Array[]
  history: Uint8Array[]
}

/** Encode a CaptureProof. */
export function encodeCaptureProof (parts: CaptureProofParts): Uint8Array {
  throw new Error('not implemented')
}

/** Decode a CaptureProof within its limits; throws InvalidCaptureProofError. */
export function decodeCaptureProof (bytes: Uint8Array): CaptureProofParts {
  throw new Error('not implemented')
}

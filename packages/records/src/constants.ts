/**
 * Record type names, signing domains, payload types and limits: the facts
 * another implementation needs to interoperate (see docs/spec.md).
 */

/** Version of every record schema defined here; a record with another version is rejected. */
export const RECORD_VERSION = 1

/**
 * Clock skew allowed when checking `created`/`expires` times, in ms.
 *
 * @default 30000
 */
export const CLOCK_SKEW_MS = 30_000

/** Suffix appended to a record type's domain for its countersignature. */
export const COUNTERSIGN_DOMAIN_SUFFIX = ':countersign'

/** Length of random ids chosen by the author (job ids, lanes, nonces). */
export const RANDOM_ID_LENGTH = 16

/** Length of a record id: a SHA-256 digest of the signed envelope bytes. */
export const RECORD_ID_LENGTH = 32

/** Longest geohash accepted (about 3.7 cm x 1.9 cm cells). */
export const MAX_GEOHASH_LENGTH = 12

/** Longest free-text field (descriptions). */
export const MAX_TEXT_LENGTH = 280

/** Longest short string field (models, classes, units, currencies, sensor names). */
export const MAX_NAME_LENGTH = 64

/** Most entries in a repeated field of names (sensors, kinds). */
export const MAX_LIST_LENGTH = 16

/** Largest amount, count or time accepted: JavaScript's safe integer range. */
export const MAX_SAFE_AMOUNT = Number.MAX_SAFE_INTEGER

/** Longest lifetime of a job announcement: 30 days. */
export const MAX_JOB_TTL_MS = 30 * 24 * 60 * 60 * 1000

/** Longest lifetime of a capability record: 2 days. */
export const MAX_CAPABILITY_TTL_MS = 2 * 24 * 60 * 60 * 1000

/** Longest lifetime of a quote or assignment: 1 day. */
export const MAX_QUOTE_TTL_MS = 24 * 60 * 60 * 1000

/** Most dimensions of a network coordinate. */
export const MAX_COORDINATE_DIMENSIONS = 16

/** Largest absolute value of a coordinate component or height, in ms (a tenth of a lap of the Earth at light speed is ~70 ms). */
export const MAX_COORDINATE_MS = 10_000

/** Most GPU entries in one capability record. */
export const MAX_GPUS = 64

/** Most addresses in one capability record. */
export const MAX_ADDRS = 16

/** Longest multiaddr, in bytes. */
export const MAX_ADDR_LENGTH = 256

/** Longest capture: 24 hours. */
export const MAX_CAPTURE_DURATION_MS = 24 * 60 * 60 * 1000

/** Most receipts in one piece of evidence (the offender's and those of the providers that disagree with it). */
export const MAX_EVIDENCE_RECEIPTS = 16

/** Size limits in bytes of each signed record (the whole envelope), checked before decoding. */
export const MAX_SIZE = {
  JobAnnouncement: 2048,
  JobWithdrawal: 512,
  CapabilityRecord: 8192,
  Quote: 1024,
  Assignment: 2048,
  WorkReceipt: 1024,
  /** with the DeviceBinding envelope it embeds */
  CaptureAttestation: 4096,
  WitnessStatement: 1024,
  DeviceBinding: 1024,
  PaymentVoucher: 1024,
  /** evidence carries whole receipts, assignments and jobs */
  Evidence: 65_536,
  /** the countersigned wrapper adds the second key and signature to the record's own limit */
  countersignOverhead: 256
} as const

/** Size limits in bytes of unsigned protocol messages, checked before decoding. */
export const MAX_MESSAGE_SIZE = {
  /** one frame of /shoal/coordinate/1.0.0 */
  CoordinateMessage: 1024,
  /** a capture job's inline output: attestation, witnesses and their history */
  CaptureProof: 65_536,
  /** one frame of /shoal/witness/1.0.0 (a signed statement with its receipt and history) */
  WitnessMessage: 16_384
} as const

/** Most witness statements in one CaptureProof. */
export const MAX_CAPTURE_WITNESSES = 16

/** Most history receipts one witness presents (CaptureProof.history holds at most this many per witness). */
export const MAX_WITNESS_HISTORY = 4

/** Most chunks in one capture: one per second of the longest capture. */
export const MAX_CAPTURE_CHUNKS = MAX_CAPTURE_DURATION_MS / 1000

/** Signing domain of the device key's signature over a CaptureAttestation (docs/spec.md §6.2). */
export const CAPTURE_DEVICE_DOMAIN = 'shoal:capture-device:v1'

/** Largest Vivaldi error estimate accepted in a coordinate. */
export const MAX_COORDINATE_ERROR = 1.5

/**
 * Signing domains, one per record type, so a signature made for one type can
 * never verify as another (RFC 0002 domain separation).
 */
export const DOMAIN = {
  JobAnnouncement: 'shoal:job-announcement:v1',
  JobWithdrawal: 'shoal:job-withdrawal:v1',
  CapabilityRecord: 'shoal:capability:v1',
  Quote: 'shoal:quote:v1',
  Assignment: 'shoal:assignment:v1',
  WorkReceipt: 'shoal:work-receipt:v1',
  CaptureAttestation: 'shoal:capture-attestation:v1',
  WitnessStatement: 'shoal:witness-statement:v1',
  DeviceBinding: 'shoal:device-binding:v1',
  PaymentVoucher: 'shoal:payment-voucher:v1',
  Evidence: 'shoal:evidence:v1'
} as const

/**
 * Multicodec codes (private-use range 0x300000-0x3fffff) used as the
 * envelope payload type of each record, encoded as unsigned varints.
 */
export const PAYLOAD_CODE = {
  JobAnnouncement: 0x300101,
  JobWithdrawal: 0x300102,
  CapabilityRecord: 0x300201,
  Quote: 0x300301,
  Assignment: 0x300302,
  WorkReceipt: 0x300303,
  CaptureAttestation: 0x300401,
  WitnessStatement: 0x300402,
  DeviceBinding: 0x300403,
  PaymentVoucher: 0x300501,
  Evidence: 0x300601
} as const

/** The name of a record type. */
export type RecordTypeName = keyof typeof DOMAIN

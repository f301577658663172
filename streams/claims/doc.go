// Package claims is the pure domain of the claims event store: the eight
// event types and their wire encoding, the schemas and their validation,
// the claim state machine and its fold, the processor's read-model row and
// policy check, report and stats arithmetic, trim planning and the archive
// format, stream-id arithmetic, sample data, the words of logs and
// notifications, and every sentinel error (errors.go).
//
// It imports only the standard library and google/uuid, so no Redis, Lua
// or terminal code can leak in: streams/ carries out what this package
// decides.
package claims

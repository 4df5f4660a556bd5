// Package sign is the trust chain's registry side, on the real cosign
// library: it resolves an image to its digest, signs it (with a key, a KMS
// or keylessly through Fulcio), attaches the evidence and vulnerability
// attestations in one manifest write, seals carried evidence as DSSE
// envelopes, and verifies all of it as `cosign verify` and `cosign
// verify-attestation` would. It decides nothing about readiness: a
// release signs only what the caller's gates judged GO (Release.Run).
package sign

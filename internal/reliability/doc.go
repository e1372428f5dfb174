// Package reliability holds the end-to-end proofs that the gate survives a
// hostile world: AWS faults injected by a proxy in front of a real
// moto_server (throttling, 5xx, resets, truncated bodies, slow and silent
// regions), hostile AWS metadata, every kind of bad configuration, and
// secrets. Its tests also produce the table of docs/RELIABILITY.md; run
// scripts/reliability-doc.sh to regenerate it. The package has no code
// outside its tests.
package reliability

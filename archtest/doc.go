// Package archtest holds one test: the import rules of DESIGN §2 over the
// whole module (api imports nothing of ours, nothing below agent imports
// it, the leaf packages stay leaves). It has no code of its own.
package archtest

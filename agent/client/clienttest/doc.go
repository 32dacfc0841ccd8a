// Package clienttest is a small in-memory server speaking davit's HTTP API
// (docs/http-api.md) for the tests of the client and the CLI. It keeps
// objects and a change history, serves get, list (equality selectors
// only), put, delete (with finalizers) and watch (including 410 Expired),
// and answers canned errors on request. It has no validation, no
// defaults and no controllers: the real agent's tests cover those.
package clienttest

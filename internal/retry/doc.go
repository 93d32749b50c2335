// Package retry is the one retry policy of the module's HTTP clients (the
// model analyst in agent, the online providers in intel): jittered
// exponential backoff, the server's Retry-After read as seconds or an HTTP
// date and capped, and a sleep that ends with the caller's context.
//
// It decides how long to wait, never whether to retry: which statuses are
// worth another attempt, and whether a long Retry-After should fail at
// once, is each caller's business.
package retry

// Package reports POSTs each organisation's delivery reports to the report
// URL of its API configuration (PRODUCT.md § API): one signed JSON call per
// status change of a message, retried with backoff through a queue in the
// database.
//
// The database writes the queue itself: migration 0018's trigger adds a row
// to api_reports in the transaction of every status change of a message of
// an organisation with a report URL, whoever makes the change (the delivery
// worker, the gateway's report, a refund). The Worker claims due rows
// (store.ClaimReports), POSTs them outside any transaction, and records
// each outcome (store.RecordReports): a 2xx answer deletes the row; any
// other answer, a timeout or a connection that fails counts an attempt and
// makes the row due again after a backoff, until 24 hours after the status
// changed, when the report is dropped with a line in the log.
//
// The report URL is the customer's, so the Worker's connections are checked
// where they are made, after the name is resolved: no report reaches a
// loopback (unless the operator allows it), private, link-local,
// unspecified or multicast address, whatever the URL's name resolves to at
// that moment.
package reports

#' Read a site's audit file
#'
#' Run by a site's administrator at the server's R console, not through
#' DataSHIELD. The audit file (server option `mhe.audit.file`) holds one line
#' per contribution and per decryption share the site produced, in every
#' session, written before the blob left the site; it is also the ledger by
#' which the site ties each variable to one set of sites.
#'
#' @param path Path of the audit file; `NULL` (default) reads the file named
#'   by the option `mhe.audit.file`, or its default
#'   `file.path(tools::R_user_dir("dsMHE", "data"), "audit.log")`.
#' @returns A data frame, one row per line: `time` (POSIXct), `event`
#'   (`"contribution"` or `"decryption"`), `site` (the site's ledger identity:
#'   its long-term key's fingerprint, or its name), `name`, `session`,
#'   `query`, `kind`, `variables`, `sites` (the set of sites, by ledger
#'   identity), `decryptors`, `digest`, `call` and `dp` (for a contribution
#'   charged to a differential-privacy budget, the analyst's budget after it,
#'   `"dsmhe-dp-budget 1 analyst=... total=... spent=... queries=..."` with
#'   rho in units of 2^-64; `""` otherwise). A file that does not exist
#'   gives no rows; a line that does not parse is an error naming the file and
#'   the line.
#' @family administration
#' @export
#' @examples
#' mheAuditRead(tempfile())
mheAuditRead <- function(path = NULL) {
  path <- if (is.null(path)) mhe_audit_file() else key_path(path)
  log <- as.data.frame(rs_call(rs_audit_read(path)), stringsAsFactors = FALSE)
  log$time <- as.POSIXct(log$time, origin = "1970-01-01", tz = "UTC")
  log
}

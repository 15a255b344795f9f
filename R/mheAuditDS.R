#' The site's audit records of this session (server side)
#'
#' The analyst's view of the site's audit file ([mheAuditRead()] is the
#' admin's): the decryption shares this site produced in the current session.
#'
#' @returns A data frame, one row per decryption share this site produced in
#'   this session: `time` (POSIXct), `query`, `kind`, `variables`, `sites`,
#'   `decryptors`, `digest`, `call` (the server call, as text).
#' @family server functions
#' @export
mheAuditDS <- function() {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  log <- as.data.frame(rs_call(rs_party_audit(party), site = site), stringsAsFactors = FALSE)
  log <- log[log$event == "decryption",
             c("time", "query", "kind", "variables", "sites", "decryptors", "digest", "call"),
             drop = FALSE]
  rownames(log) <- NULL
  log$time <- as.POSIXct(log$time, origin = "1970-01-01", tz = "UTC")
  log
}

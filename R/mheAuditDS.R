#' The site's audit log (server side)
#'
#' @returns A data frame, one row per decryption share this site produced:
#'   `time` (POSIXct), `query`, `kind`, `variables`, `sites`, `digest`.
#' @family server functions
#' @export
mheAuditDS <- function() {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  log <- rs_call(rs_party_audit(party), site = site)
  log <- as.data.frame(log, stringsAsFactors = FALSE)
  if ("time" %in% names(log)) {
    log$time <- as.POSIXct(log$time, origin = "1970-01-01", tz = "UTC")
  }
  log
}

#' The sites' audit logs of decryption shares
#'
#' Each site records every decryption share it produced; this collects the
#' logs of all sites.
#'
#' @inheritParams ds.mheMean
#' @returns A data frame, one row per decryption share per site: `site`,
#'   then `time`, `query`, `kind`, `variables`, `sites` (comma-separated
#'   contributing sites) and `digest` (hex of the decrypted ciphertext's
#'   digest).
#' @family client functions
#' @export
ds.mheAudit <- function(datasources = NULL) {
  conns <- mhe_conns(datasources)
  logs <- mhe_aggregate(conns, call("mheAuditDS"))
  rows <- lapply(names(conns), function(site) {
    log <- as.data.frame(logs[[site]], stringsAsFactors = FALSE)
    data.frame(site = rep(site, nrow(log)), log, stringsAsFactors = FALSE)
  })
  result <- do.call(rbind, rows)
  rownames(result) <- NULL
  result
}

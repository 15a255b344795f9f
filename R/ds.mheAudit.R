#' The sites' audit records of this session
#'
#' Each site writes every contribution and every decryption share to its own
#' audit file (server option `mhe.audit.file`, read by its admin with
#' [mheAuditRead()]), kept across sessions. This is the analyst's view of it:
#' the decryption shares each site produced in the current session.
#'
#' @inheritParams ds.mheMean
#' @returns A data frame, one row per decryption share per site: `site`,
#'   then `time`, `query`, `kind`, `variables`, `sites` (comma-separated
#'   contributing sites), `decryptors`, `digest` (hex of the decrypted
#'   ciphertexts' digest) and `call` (the server call that computed it).
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

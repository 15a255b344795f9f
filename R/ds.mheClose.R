#' End a dsMHE session
#'
#' Each site zeroizes its secret-key share now and forgets its party. Its
#' audit file (server option `mhe.audit.file`) keeps every record: closing
#' erases nothing from it.
#'
#' @inheritParams ds.mheMean
#' @returns `NULL`, invisibly.
#' @family client functions
#' @export
ds.mheClose <- function(datasources = NULL) {
  conns <- mhe_conns(datasources)
  mhe_session_forget(conns)
  mhe_aggregate(conns, call("mheCloseDS"))
  invisible(NULL)
}

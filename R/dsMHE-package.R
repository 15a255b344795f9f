#' dsMHE: multiparty homomorphic encryption for DataSHIELD
#'
#' The same package runs on every DataSHIELD server and in the analyst's R
#' session. The analyst's functions (`ds.mhe*()`) return pooled statistics
#' only: each site encrypts its local aggregate under a collective key, the
#' analyst adds the ciphertexts, and all sites (or `t` of them) jointly decrypt
#' only the pooled sum. Start with [ds.mheSetup()]; options are listed in
#' [dsMHE-options].
#'
#' @keywords internal
#' @useDynLib dsMHE, .registration = TRUE
"_PACKAGE"

# Where code runs, said by its file and its name:
#
# - `ds.mhe*()` (exported) and `client-*.R` run in the analyst's session;
#   their helpers are named `mhe_*`;
# - `mhe*DS()` (exported, the DataSHIELD methods) and `server-*.R` run at a
#   site; their helpers are named `srv_*`;
# - `shared-*.R` holds what both sides run (errors, transport encodings, the
#   aggregate layouts, the GLM formula language, the disclosure options, the
#   `rs_call()` bridge); its helpers are named `mhe_*` too, and the file name
#   says they are shared. The `rs_*` functions (extendr-wrappers.R) are the
#   Rust bindings, used by both sides.
# - A server helper never calls the client's query machinery, and the client
#   reads an aggregate only through its layout (`mhe_unpack()`).

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

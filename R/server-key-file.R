#' A site's long-term signing key, for pinning
#'
#' Run by a site's administrator at the server's R console, not through
#' DataSHIELD. `mheKeyCreate()` writes a fresh Ed25519 signing key to `path`
#' (mode 0600, never overwriting a file) and returns its fingerprint;
#' `mheKeyFingerprint()` reads it back. Point the server option
#' `mhe.key.file` at the file: every session of this site then signs its
#' identity with that key, so the other sites pin this fingerprint once in
#' their `mhe.peers` instead of for every session. Without the option, each
#' session has a fresh signing key. Only the signing key is long-term: the
#' key-agreement key and the secret-key share are fresh in every session.
#'
#' The file must be readable by the R server process (Rock) and by nobody
#' else: a file that the group or others can access is refused.
#'
#' @param path Path of the key file.
#' @returns The fingerprint (32 hex characters) to give the other sites'
#'   administrators.
#' @family administration
#' @export
#' @examples
#' path <- tempfile()
#' fp <- mheKeyCreate(path)
#' identical(mheKeyFingerprint(path), fp)
#' unlink(path)
mheKeyCreate <- function(path) {
  path <- key_path(path)
  rs_call(rs_key_file_create(path))
}

#' @rdname mheKeyCreate
#' @export
mheKeyFingerprint <- function(path) {
  path <- key_path(path)
  rs_call(rs_key_file_fingerprint(path))
}

key_path <- function(path, call = rlang::caller_env()) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    mhe_abort("{.arg path} must be a single file path.", class = "input", call = call)
  }
  path.expand(path)
}

# The key file named by the server option `mhe.key.file`, or "" when unset.
mhe_key_file <- function(site) {
  value <- getOption("mhe.key.file")
  if (is.null(value) || identical(value, "")) {
    return("")
  }
  if (!is.character(value) || length(value) != 1L || is.na(value)) {
    mhe_server_abort(site, "the server option `mhe.key.file` must be a single file path")
  }
  path.expand(value)
}

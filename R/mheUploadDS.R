#' Append a chunk to one of the party's buffers (server side)
#'
#' Blobs longer than the option `mhe.chunk.size` travel in chunks; the call
#' that uses them then names the buffer as `"buf:<name>"`, which empties it.
#'
#' @param name Buffer name (letters, digits, `_.+-`).
#' @param index 1-based chunk index; must be the next one.
#' @param chunk base64url text (a multiple of 4 characters except the last).
#' @returns The number of bytes buffered so far.
#' @family server functions
#' @export
mheUploadDS <- function(name, index, chunk) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  name <- srv_string(name, site, "name", mhe_name_pattern, 64L, "a buffer name")
  index <- srv_count(index, site, "index", 1L, 1e6)
  chunk <- srv_string(chunk, site, "chunk", mhe_b64_pattern, 1e6,
                      "base64url text without padding")
  rs_call(rs_party_buffer_append(party, name, index, chunk), site = site)
}

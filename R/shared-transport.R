# Transport: what may travel from the analyst to a site ----------------------
#
# Opal parses every server call with its v2 grammar: string arguments are one
# or more of [A-Za-z0-9_.+-;:,$], calls are never nested. Binary travels as
# base64url without padding, exact numbers as hex of their IEEE 754 bytes, a
# vector of names as one comma-separated string. Blobs longer than
# `getOption("mhe.chunk.size")` characters go in chunks to a buffer of the
# site's party (`mheUploadDS()`) and are then referred to as "buf:<name>".

mhe_grammar <- "^[A-Za-z0-9_.+;:,$-]+$"
mhe_name_pattern <- "^[A-Za-z0-9_.+-]+$"
mhe_id_pattern <- "^[A-Za-z0-9_-]{22}$"
mhe_b64_pattern <- "^[A-Za-z0-9_-]+$"
mhe_buffer_prefix <- "buf:"

mhe_chunk_size <- function() {
  size <- suppressWarnings(as.numeric(getOption("mhe.chunk.size", 200000))[1])
  if (is.na(size) || size < 4) {
    mhe_abort(
      "Option {.code mhe.chunk.size} must be a number of at least 4.",
      class = "input"
    )
  }
  as.integer(floor(min(size, 900000) / 4) * 4)
}

# Split a base64url string into chunks whose lengths are multiples of 4, so
# that each decodes on its own.
mhe_chunks <- function(text, size = mhe_chunk_size()) {
  n <- nchar(text)
  if (n <= size) {
    return(text)
  }
  starts <- seq.int(1L, n, by = size)
  substring(text, starts, pmin(starts + size - 1L, n))
}

# Send one blob (raw) per site; return, per site, the argument that refers to
# it: the base64url text itself when short, else "buf:<name>" after uploading
# the chunks into the site's buffer <name>.
mhe_send_blobs <- function(conns, blobs) {
  stopifnot(is.list(blobs), all(names(conns) %in% names(blobs)))
  texts <- vapply(names(conns), function(site) rs_call(rs_b64_encode(blobs[[site]])), "")
  size <- mhe_chunk_size()
  long <- names(texts)[nchar(texts) > size]
  if (length(long) == 0L) {
    return(texts)
  }
  buffer <- paste0("b", rs_call(rs_random_id()))
  chunks <- lapply(texts[long], mhe_chunks, size = size)
  rounds <- max(lengths(chunks))
  for (i in seq_len(rounds)) {
    sites <- long[lengths(chunks) >= i]
    calls <- lapply(sites, function(site) {
      call("mheUploadDS", buffer, as.integer(i), chunks[[site]][[i]])
    })
    names(calls) <- sites
    mhe_aggregate(conns[sites], calls)
  }
  texts[long] <- paste0(mhe_buffer_prefix, buffer)
  texts
}

# The same blob to every site.
mhe_send_blob <- function(conns, blob) {
  blobs <- rep(list(blob), length(conns))
  names(blobs) <- names(conns)
  mhe_send_blobs(conns, blobs)
}

# Exact doubles as text: hex of the big-endian IEEE 754 bytes, comma-separated.
mhe_dbl_encode <- function(x) {
  x <- as.double(x)
  bytes <- as.character(writeBin(x, raw(), size = 8L, endian = "big"))
  hex <- vapply(seq_along(x), function(i) {
    paste(bytes[(8L * i - 7L):(8L * i)], collapse = "")
  }, "")
  paste(hex, collapse = ",")
}

mhe_dbl_decode <- function(text) {
  hex <- strsplit(text, ",", fixed = TRUE)[[1]]
  pairs <- substring(paste(hex, collapse = ""), seq.int(1L, 16L * length(hex), by = 2L),
                     seq.int(2L, 16L * length(hex), by = 2L))
  readBin(as.raw(strtoi(pairs, 16L)), "double", n = length(hex), size = 8L, endian = "big")
}

# Levels (any text) as one base64url string: each level prefixed with "." and
# joined by newlines, in UTF-8.
mhe_levels_encode <- function(levels) {
  text <- paste0(".", enc2utf8(as.character(levels)), collapse = "\n")
  rs_call(rs_b64_encode(charToRaw(text)))
}

mhe_levels_decode <- function(text, site = NULL) {
  raw <- rs_call(rs_b64_decode(text), site = site)
  text <- rawToChar(raw)
  Encoding(text) <- "UTF-8"
  levels <- strsplit(text, "\n", fixed = TRUE)[[1]]
  if (!length(levels) || !all(startsWith(levels, "."))) {
    mhe_server_abort(site, "the list of levels is malformed")
  }
  substring(levels, 2L)
}

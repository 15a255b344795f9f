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

# Base64url text of a raw blob, in pieces of at most `size` characters (a
# multiple of 4): the blob is cut into runs of size / 4 * 3 bytes, each
# encoded on its own, so no long string is ever built and cut again.
mhe_blob_pieces <- function(blob, size = mhe_chunk_size()) {
  n <- length(blob)
  chars <- (n %/% 3) * 4 + c(0, 2, 3)[n %% 3 + 1]
  if (chars <= size) {
    return(rs_call(rs_b64_encode(blob)))
  }
  step <- size %/% 4 * 3
  starts <- seq.int(1L, n, by = step)
  vapply(starts, function(from) {
    rs_call(rs_b64_encode(blob[from:min(from + step - 1L, n)]))
  }, "")
}

# Send one blob (raw) per site; return, per site, the argument that refers to
# it: the base64url text itself when short, else "buf:<name>" after uploading
# the chunks into the site's buffer <name>. A blob identical to the previous
# site's is encoded once.
mhe_send_blobs <- function(conns, blobs) {
  stopifnot(is.list(blobs), all(names(conns) %in% names(blobs)))
  size <- mhe_chunk_size()
  pieces <- list()
  previous <- NULL
  for (site in names(conns)) {
    blob <- blobs[[site]]
    pieces[[site]] <- if (!is.null(previous) && identical(blob, blobs[[previous]])) {
      pieces[[previous]]
    } else {
      mhe_blob_pieces(blob, size)
    }
    previous <- site
  }
  texts <- vapply(pieces, function(p) if (length(p) == 1L) p else "", "")
  long <- names(pieces)[lengths(pieces) > 1L]
  if (length(long) == 0L) {
    return(texts)
  }
  buffer <- paste0("b", rs_call(rs_random_id()))
  chunks <- pieces[long]
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

# Calls as the text a server receives ----------------------------------------
#
# DSI deparses a call twice per site (progress messages) and DSLite once more
# before parsing it; deparse() of a string argument of 200 KB takes about
# 30 ms, so long calls (blob chunks, bundles) spent more time in deparse than
# in the server. A call whose arguments are all plain values is written out
# here once, as the exact text deparse() would give, and travels as that text
# (DSI and its drivers pass a character expression through as is). Short calls
# stay calls.

mhe_text_min <- 4096L

# The text of `cl` (a call of a plain function name whose arguments are
# strings in Opal's grammar, numbers, logicals or NULL), or `cl` itself when
# it is short or holds anything else.
mhe_call_text <- function(cl, min_chars = mhe_text_min) {
  if (!is.call(cl) || !is.symbol(cl[[1L]])) {
    return(cl)
  }
  args <- as.list(cl)[-1L]
  long <- FALSE
  parts <- character(length(args))
  for (i in seq_along(args)) {
    arg <- args[[i]]
    if (is.character(arg) && length(arg) == 1L && !is.na(arg) &&
        grepl(mhe_grammar, arg, perl = TRUE)) {
      long <- long || nchar(arg) >= min_chars
      parts[i] <- paste0("\"", arg, "\"")
    } else if (is.null(arg) || (is.atomic(arg) && length(arg) == 1L && !is.character(arg))) {
      parts[i] <- paste(deparse(arg), collapse = "")
    } else {
      return(cl)
    }
  }
  if (!long) {
    return(cl)
  }
  keys <- names(args)
  if (!is.null(keys)) {
    named <- nzchar(keys)
    parts[named] <- paste(keys[named], "=", parts[named])
  }
  paste0(as.character(cl[[1L]]), "(", paste(parts, collapse = ", "), ")")
}

# An expression for DSI (one call, or a list of calls named by site) with its
# long calls as text.
mhe_wire_expr <- function(expr) {
  if (is.list(expr)) {
    expr[] <- lapply(expr, mhe_call_text)
    expr
  } else {
    mhe_call_text(expr)
  }
}

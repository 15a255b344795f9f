# Long calls travel as text written once (mhe_call_text()), and blobs are cut
# into base64url pieces from their bytes (mhe_blob_pieces()).

test_that("a long call is written as text that parses back to the same call", {
  long <- strrep("Ab-_9", 2000)
  cl <- call("mheUploadDS", "bAbc", 3L, long)
  text <- dsMHE:::mhe_call_text(cl)
  expect_type(text, "character")
  expect_identical(str2lang(text), cl)
  named <- call("mheFinalizeDS", long, threshold = 0L, flag = TRUE, none = NULL, x = 1.5e-3)
  expect_identical(str2lang(dsMHE:::mhe_call_text(named)), named)
})

test_that("short calls and calls holding anything but plain values stay calls", {
  short <- call("mheJoinDS", "abc", 0L)
  expect_identical(dsMHE:::mhe_call_text(short), short)
  long <- strrep("A", 5000)
  nested <- call("mheJoinDS", long, call("c", 1, 2))
  expect_identical(dsMHE:::mhe_call_text(nested), nested)
  spaced <- call("mheJoinDS", paste(long, "x"))
  expect_identical(dsMHE:::mhe_call_text(spaced), spaced)
  calls <- list(site1 = call("mheUploadDS", long), site2 = short)
  wire <- dsMHE:::mhe_wire_expr(calls)
  expect_type(wire$site1, "character")
  expect_identical(wire$site2, short)
})

test_that("blob pieces are whole base64url groups that decode back to the blob", {
  for (n in c(0L, 1L, 2L, 3L, 749L, 750L, 751L, 2999L)) {
    blob <- as.raw(sample.int(256L, n, replace = TRUE) - 1L)
    pieces <- dsMHE:::mhe_blob_pieces(blob, size = 1000L)
    expect_true(all(nchar(pieces) <= 1000L))
    expect_true(all(nchar(pieces[-length(pieces)]) %% 4L == 0L))
    expect_identical(paste(pieces, collapse = ""), dsMHE:::rs_b64_encode(blob))
    decoded <- unlist(lapply(pieces, function(p) dsMHE:::rs_b64_decode(p)))
    expect_identical(if (is.null(decoded)) raw() else decoded, blob)
  }
})

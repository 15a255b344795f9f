# One encrypted query --------------------------------------------------------
#
# 1. every site computes its local aggregate vector, applies its disclosure
#    filters and returns it encrypted and signed (`<fun>(..., query, sites)`);
# 2. the client adds the ciphertexts (`rs_pool()`);
# 3. each site checks the pooled request and returns its decryption share
#    (`mheDecryptDS(query, request)`);
# 4. the client combines the shares into the pooled vector (`rs_combine()`).
# Every ds.mhe* function goes through `mhe_query()`.

mhe_query <- function(conns, fun, args = list(), call = rlang::caller_env()) {
  mhe_session_get(conns, call = call)
  sites <- names(conns)
  query <- rs_call(rs_random_id())
  sites_arg <- paste(sites, collapse = ",")
  progress <- cli::cli_progress_bar(
    format = "dsMHE {fun}: {cli::pb_status}",
    total = 3L, clear = TRUE, .auto_close = TRUE
  )
  cli::cli_progress_update(id = progress, status = "encrypting at the sites", inc = 0)
  contribution <- as.call(c(list(as.name(fun)), args, list(query = query, sites = sites_arg)))
  contributions <- mhe_aggregate(conns, contribution, call = call)
  pool <- rs_call(rs_pool(unname(contributions[sites]), sites))

  cli::cli_progress_update(id = progress, status = "joint decryption")
  request <- mhe_send_blob(conns, pool$request)
  decrypt <- mhe_calls(conns, function(site) call("mheDecryptDS", query, request[[site]]))
  shares <- mhe_aggregate(conns, decrypt, call = call)

  cli::cli_progress_update(id = progress, status = "combining")
  value <- rs_call(rs_combine(pool$pooled, unname(shares[sites])))
  cli::cli_progress_done(id = progress)
  value
}

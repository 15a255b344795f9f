# Client-side argument checks -------------------------------------------------

mhe_check_variable <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.character(x) || length(x) != 1L || is.na(x) ||
      !grepl(mhe_variable_pattern, x)) {
    mhe_abort(c(
      "{.arg {arg}} must be one variable name such as {.val D$age}.",
      x = if (is.character(x) && length(x) == 1L) "Not a variable name: {.val {x}}."
    ), class = "input", call = call)
  }
  x
}

# Pooled counts come back as doubles that are exact integers.
mhe_count <- function(x) {
  x <- round(x)
  if (all(abs(x) < .Machine$integer.max)) as.integer(x) else x
}

# dsBaseClient's `type` ------------------------------------------------------
#
# dsBaseClient's ds.mean, ds.var, ds.cor and ds.histogram take `type`:
# "combine" pools the sites, "split" returns one result per site. dsMHE pools
# only, so "combine" (and dsBase's spellings of it) is accepted and "split"
# (or "both") is refused with the reason and the alternative.
mhe_type_combine <- c("combine", "combined", "combines", "c")
mhe_type_split <- c("split", "splits", "s", "both", "b")

mhe_check_type <- function(type, instead = NULL, arg = rlang::caller_arg(type),
                           call = rlang::caller_env()) {
  ok <- is.character(type) && length(type) == 1L && !is.na(type)
  if (ok && type %in% mhe_type_combine) {
    return(invisible("combine"))
  }
  if (ok && type %in% mhe_type_split) {
    mhe_abort(c(
      "{.arg {arg}} can't be {.val {type}}: dsMHE never returns one site's result.",
      x = paste(
        "Per-site results are exactly what dsMHE exists not to reveal: each site's",
        "aggregate stays encrypted and only the pooled value over all sites is decrypted."
      ),
      i = "Use {.code {arg} = \"combine\"} (the default) for the pooled result.",
      i = instead,
      i = "The sites that contributed are listed when the result prints (attribute {.field sites}); each site's own log of what it decrypted is {.fn ds.mheAudit}."
    ), class = c("split", "input"), call = call)
  }
  mhe_abort(
    "{.arg {arg}} must be {.val combine} (dsMHE pools the sites), not {.val {format(type)}}.",
    class = "input", call = call
  )
}

#' Column names of a data frame (server side)
#'
#' Metadata, as dsBase's `colnamesDS`, used by [ds.mheCor()].
#'
#' @param x Name of a data frame, e.g. `"D"`.
#' @returns A character vector.
#' @family server functions
#' @export
mheColnamesDS <- function(x) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  df <- srv_object(x, env, site)
  if (!is.data.frame(df)) {
    mhe_server_abort(site, paste0("`", x, "` must be a data frame"))
  }
  names(df)
}

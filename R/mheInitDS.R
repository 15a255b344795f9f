#' Start a dsMHE session on a site (server side)
#'
#' Assign method: creates this site's party (fresh secret-key share and
#' key-agreement key; a fresh signing key too, unless the admin set the option
#' `mhe.key.file`, see [mheKeyCreate()]) for the session. The client assigns its value to the
#' symbol `mhe.party`; every other server function finds it there. A previous
#' party of this DataSHIELD session is wiped.
#'
#' @param session Session id (22 base64url characters, from [ds.mheSetup()]).
#' @param params Name of the parameter set, e.g. `"default"`.
#' @param site This site's name, as the analyst's connection names it.
#' @returns An external pointer to the party.
#' @family server functions
#' @export
mheInitDS <- function(session, params, site) {
  env <- parent.frame()
  site <- srv_string(site, NULL, "site", mhe_name_pattern, 100L,
                     "a site name of letters, digits and `_.+-`")
  session <- srv_string(session, site, "session", mhe_id_pattern, 22L,
                        "a session id (22 base64url characters)")
  params <- srv_string(params, site, "params", mhe_name_pattern, 64L,
                       "a parameter-set name")
  party <- rs_call(rs_party_new(site, session, params, mhe_key_file(site)), site = site)
  attr(party, "mhe_site") <- site
  old <- if (exists("mhe.party", envir = env, inherits = FALSE)) {
    get("mhe.party", envir = env, inherits = FALSE)
  }
  if (srv_is_party(old)) {
    try(rs_party_wipe(old), silent = TRUE)
  }
  party
}

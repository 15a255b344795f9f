#' Join the roster and publish a key-generation share (server side)
#'
#' Aggregate method of [ds.mheSetup()]. The site checks the roster against
#' its admin's policy (it is in it, signatures, at least `mhe.min.parties`
#' distinct sites, no two with one key; exactly the sites pinned in
#' `mhe.peers`, or no pins when `mhe.allow.unpinned` is `TRUE`; a threshold of
#' at least `mhe.min.threshold`) and returns its signed public-key share. The
#' site's audit file (`mhe.audit.file`) is fixed for the session here.
#'
#' @param roster Roster blob: base64url, or `"buf:<name>"` for a buffer filled
#'   by [mheUploadDS()].
#' @param threshold Number of sites needed to decrypt; `0` for all of them.
#' @returns A list: `share` (raw, the signed key-generation share) and
#'   `pinned` (`TRUE` when this site's admin pinned its peers with `mhe.peers`).
#' @family server functions
#' @export
mheJoinDS <- function(roster, threshold = 0L) {
  party <- srv_party(parent.frame())
  site <- srv_site(party)
  threshold <- srv_count(threshold, site, "threshold", 0L, 10000L)
  roster <- srv_blob(party, roster, site, "roster")
  peers <- mhe_pinned_peers()
  share <- rs_call(
    rs_party_join(party, roster, threshold, mhe_min_parties(), mhe_min_threshold(site),
                  peers, mhe_allow_unpinned(), mhe_audit_file(site)),
    site = site
  )
  list(share = share, pinned = length(peers) > 0L)
}

/* Forced into every source file of src/ (src/CMakeLists.txt), with SPOC_LAYER_<NAME> defined for
 * the file's own folder. A third-party library whose headers sit on the default include path
 * (libetpan, GnuTLS, libcurl, libconfig, libytnef, libmicrohttpd, libsystemd, nettle) cannot be
 * kept out of the other folders by the include path alone, so one identifier that each of those
 * headers declares is poisoned outside the folder that wraps the library: including the header
 * anywhere else stops the build with "attempt to use poisoned". GMime, libxml2 and libpq need an
 * include path that only their folder gets. */
#ifndef SPOC_LAYER_GUARD_H
#define SPOC_LAYER_GUARD_H

#ifndef SPOC_LAYER_NET
#pragma GCC poison mailsmtp_new mailimap_new gnutls_init curl_easy_init
#endif
#ifndef SPOC_LAYER_CONF
#pragma GCC poison config_init
#endif
#ifndef SPOC_LAYER_MAIL
#pragma GCC poison TNEFInitialize
#endif
#ifndef SPOC_LAYER_CORE
#pragma GCC poison MHD_start_daemon
#endif
#ifndef SPOC_LAYER_BASE
#pragma GCC poison sd_journal_sendv nettle_sha256_digest
#endif
#ifndef SPOC_LAYER_SPOCD
#pragma GCC poison sd_notify
#endif

#endif

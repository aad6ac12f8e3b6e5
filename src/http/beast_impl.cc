// Compiles Beast and Asio (SSL included) once for the whole program: every target that includes them
// defines BOOST_BEAST_SEPARATE_COMPILATION and BOOST_ASIO_SEPARATE_COMPILATION (inherited from
// panorama_http) and links this object instead of instantiating the library in each file (STYLE.md §10).

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

# pc-install.cmake — run by `cmake --install`: write sluice.pc for the
# prefix being installed into (SLUICE_PC_TEMPLATE and SLUICE_PC_LIBDIR_REL
# are set by sdk/CMakeLists.txt's install(CODE) just before).
#
# The rpath is left out when the library directory is one the dynamic
# loader searches by default (/usr/lib..., /lib..., /usr/local/lib, which
# Debian's ld.so.conf lists): a system package must not carry an rpath.
# Anywhere else (/opt/sluice, ~/.local, a temp prefix) a program built with
# `pkg-config --libs sluice` finds libsluice.so through it.
if(IS_ABSOLUTE "${SLUICE_PC_LIBDIR_REL}")
  set(_libdir "${SLUICE_PC_LIBDIR_REL}")
else()
  set(_libdir "${CMAKE_INSTALL_PREFIX}/${SLUICE_PC_LIBDIR_REL}")
endif()
set(_rpath "-Wl,-rpath,\${libdir} ")
if(_libdir MATCHES "^/(usr/)?lib(32|64|x32)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?/?$"
   OR _libdir MATCHES "^/usr/local/lib/?$")
  set(_rpath "")
endif()
file(READ "${SLUICE_PC_TEMPLATE}" _pc)
string(REPLACE "@SLUICE_PC_RPATH@" "${_rpath}" _pc "${_pc}")
set(_dest "$ENV{DESTDIR}${_libdir}/pkgconfig/sluice.pc")
message(STATUS "Installing: ${_dest}")
file(WRITE "${_dest}" "${_pc}")

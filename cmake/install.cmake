# Install rules: `cmake --install` (and the Debian package, packaging/debian/rules) lays warden
# out as a system service:
#   /usr/sbin/wardend, /usr/bin/wardenctl
#   <systemd unit dir>/warden.service, warden.socket   (/lib/systemd/system on Debian 12)
#   /etc/warden/warden.yaml, /etc/warden/conf.d/README  (config/)
#   /var/log/warden/                                    (the default log_dir)
#   /usr/share/doc/warden/*.md                          (README.md, docs/)
#   /usr/share/man/man{1,5,8}/...                       (man/*.scd, built with scdoc)
#   /usr/share/bash-completion/completions/wardenctl    (completion/wardenctl.bash)
#   /usr/bin/warden-web, /usr/share/warden/web/         (web/, web/static/)
#   <systemd unit dir>/warden-web.service               (disabled: packaging/debian/rules)
#   /usr/share/doc/warden/prometheus/                   (docs/prometheus/)
#   <python3 dist-packages>/warden/                     (python/warden: `import warden`)
# Included from the top-level CMakeLists.txt after the targets exist.
include(GNUInstallDirs)

install(TARGETS wardend RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS wardenctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS warden-web RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/static/ DESTINATION ${WARDEN_WEB_STATIC_DIR})

# systemd's own answer for where system units go; the Debian 12 default when systemd.pc is absent.
set(WARDEN_SYSTEMD_UNITDIR "" CACHE PATH "Where to install warden.service and warden.socket")
if(NOT WARDEN_SYSTEMD_UNITDIR)
  pkg_get_variable(_warden_unitdir systemd systemdsystemunitdir)
  if(NOT _warden_unitdir)
    set(_warden_unitdir /lib/systemd/system)
  endif()
  set(WARDEN_SYSTEMD_UNITDIR ${_warden_unitdir})
endif()

# The units in units/ name /usr/sbin/wardend, /usr/bin/wardenctl and /usr/share/doc/warden,
# which is where a /usr prefix puts them; any other prefix gets a copy naming the real paths.
foreach(_unit warden.service warden.socket warden-web.service)
  file(READ ${PROJECT_SOURCE_DIR}/units/${_unit} _text)
  string(REPLACE "/usr/share/doc/warden" "${CMAKE_INSTALL_FULL_DOCDIR}" _text "${_text}")
  string(REPLACE "/usr/sbin/wardend" "${CMAKE_INSTALL_FULL_SBINDIR}/wardend" _text "${_text}")
  string(REPLACE "/usr/bin/wardenctl" "${CMAKE_INSTALL_FULL_BINDIR}/wardenctl" _text "${_text}")
  string(REPLACE "/usr/bin/warden-web" "${CMAKE_INSTALL_FULL_BINDIR}/warden-web" _text "${_text}")
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/units/${_unit} CONTENT "${_text}" @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/units/${_unit} DESTINATION ${WARDEN_SYSTEMD_UNITDIR})
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/units/warden.service ${PROJECT_SOURCE_DIR}/units/warden.socket
             ${PROJECT_SOURCE_DIR}/units/warden-web.service)

# Not under the prefix: wardend reads /etc/warden/warden.yaml and logs to /var/log/warden by
# default (and warden.service's ConfigurationDirectory= and LogsDirectory= say the same),
# whatever the prefix of the binaries.
set(WARDEN_CONFDIR /etc/warden CACHE PATH "Where to install warden.yaml and conf.d/")
set(WARDEN_LOGDIR /var/log/warden CACHE PATH "The log folder to create")
install(FILES ${PROJECT_SOURCE_DIR}/config/warden.yaml DESTINATION ${WARDEN_CONFDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/conf.d/README DESTINATION ${WARDEN_CONFDIR}/conf.d)
install(DIRECTORY DESTINATION ${WARDEN_LOGDIR})

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB _warden_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${_warden_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/prometheus DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Python module, for Debian's python3 (which reads /usr/lib/python3/dist-packages for
# every 3.x); another prefix puts it under that prefix's lib/python3/dist-packages.
set(WARDEN_PYTHON_DIR ${CMAKE_INSTALL_PREFIX}/lib/python3/dist-packages
    CACHE PATH "Where to install the Python module (python/warden)")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/warden DESTINATION ${WARDEN_PYTHON_DIR}
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)

# Man pages: man/NAME.SECTION.scd, turned into roff by scdoc at build time (target `man`, part of
# `all`). WARDEN_MAN=OFF skips them where scdoc is missing.
option(WARDEN_MAN "Build and install the man pages (needs scdoc)" ON)
if(WARDEN_MAN)
  find_program(WARDEN_SCDOC scdoc)
  if(NOT WARDEN_SCDOC)
    message(FATAL_ERROR "scdoc not found: apt-get install scdoc (or configure with -DWARDEN_MAN=OFF)")
  endif()
  set(_warden_man_pages)
  foreach(_page wardenctl.1 warden-web.1 wardend.8 warden.yaml.5)
    string(REGEX MATCH "[0-9]$" _section ${_page})
    set(_in ${PROJECT_SOURCE_DIR}/man/${_page}.scd)
    set(_out ${PROJECT_BINARY_DIR}/man/${_page})
    add_custom_command(OUTPUT ${_out}
                       COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
                       COMMAND sh -c "\"$1\" < \"$2\" > \"$3\"" scdoc ${WARDEN_SCDOC} ${_in} ${_out}
                       DEPENDS ${_in}
                       COMMENT "scdoc man/${_page}.scd"
                       VERBATIM)
    list(APPEND _warden_man_pages ${_out})
    install(FILES ${_out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_section})
  endforeach()
  add_custom_target(man ALL DEPENDS ${_warden_man_pages})
endif()

# Shell completion (bash-completion loads it on demand by the command's name).
install(FILES ${PROJECT_SOURCE_DIR}/completion/wardenctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME wardenctl)

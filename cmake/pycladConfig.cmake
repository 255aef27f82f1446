# pyclad's CMake package.
#
#   find_package(pyclad CONFIG REQUIRED)   # pyclad_DIR from `pyclad --cmake-dir`
#   target_link_libraries(app PRIVATE pyclad::runtime)
#   pyclad_add_derivatives(app SOURCE model.cpp FUNCTIONS energy MODE reverse)
#
# pyclad::runtime is the header-only runtime (pyclad/runtime.hpp, clad/Differentiator/...).
# pyclad_add_derivatives() runs `pyclad gen` at build time and again whenever the source
# or a header it includes changes (a Make-style depfile, CMake's DEPFILE).
# PYCLAD_EXECUTABLE (a cache variable, may be a list such as "python3;-m;pyclad") is the
# command that runs pyclad; by default the `pyclad` installed beside this package.

if(CMAKE_VERSION VERSION_LESS 3.20)
  set(pyclad_FOUND FALSE)
  set(pyclad_NOT_FOUND_MESSAGE "pyclad needs CMake 3.20 or newer (DEPFILE with every generator)")
  return()
endif()

get_filename_component(_pyclad_here "${CMAKE_CURRENT_LIST_DIR}" REALPATH)
# Installed: <site-packages>/pyclad/{cmake,include}; in a checkout: cmake/ beside cpp/include.
foreach(_pyclad_candidate "${_pyclad_here}/../include" "${_pyclad_here}/../cpp/include")
  if(EXISTS "${_pyclad_candidate}/pyclad/runtime.hpp")
    get_filename_component(pyclad_INCLUDE_DIR "${_pyclad_candidate}" REALPATH)
    break()
  endif()
endforeach()
if(NOT pyclad_INCLUDE_DIR)
  set(pyclad_FOUND FALSE)
  set(pyclad_NOT_FOUND_MESSAGE "pyclad's headers (pyclad/runtime.hpp) are not beside ${_pyclad_here}")
  return()
endif()

if(NOT TARGET pyclad::runtime)
  add_library(pyclad::runtime INTERFACE IMPORTED)
  set_target_properties(pyclad::runtime PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${pyclad_INCLUDE_DIR}"
    INTERFACE_COMPILE_FEATURES cxx_std_17)
endif()

# A venv or prefix install puts the `pyclad` script in <prefix>/bin, five levels above.
# (A value given with -D is a command line, maybe a list: it is not looked up as a file.)
if(NOT PYCLAD_EXECUTABLE)
  find_program(PYCLAD_EXECUTABLE pyclad
    HINTS "${_pyclad_here}/../../../../../bin" "${_pyclad_here}/../../../../bin"
    DOC "command running pyclad (may be a list: python3;-m;pyclad)")
endif()
if(NOT PYCLAD_EXECUTABLE)
  set(pyclad_FOUND FALSE)
  set(pyclad_NOT_FOUND_MESSAGE "no `pyclad` command found; set PYCLAD_EXECUTABLE")
  return()
endif()

# Policies recorded with the function: depfile paths relative to the build tree (CMP0116).
cmake_policy(PUSH)
cmake_policy(SET CMP0116 NEW)

# pyclad_add_derivatives(<target> SOURCE <file> FUNCTIONS <name>... MODE <mode>
#                        [WRT <params>] [ORDER <n>] [STD <c++17>] [OUTPUT_HEADER <file>]
#                        [INCLUDE_DIRECTORIES <dir>...] [DEFINITIONS <NAME[=VALUE]>...])
# Generates OUTPUT_HEADER (default: <binary dir>/<source stem>_d.hpp) before <target>
# compiles, puts its directory on <target>'s include path and links pyclad::runtime
# (PUBLIC for a library, so its users include the header too).
function(pyclad_add_derivatives target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE;MODE;WRT;ORDER;STD;OUTPUT_HEADER"
    "FUNCTIONS;INCLUDE_DIRECTORIES;DEFINITIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "pyclad_add_derivatives: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "pyclad_add_derivatives: '${target}' is not a target")
  endif()
  if(NOT arg_SOURCE OR NOT arg_FUNCTIONS)
    message(FATAL_ERROR "pyclad_add_derivatives: SOURCE and FUNCTIONS are required")
  endif()
  if(NOT arg_MODE)
    set(arg_MODE forward)
  endif()
  if(NOT arg_STD)
    set(arg_STD c++17)
  endif()
  get_filename_component(source "${arg_SOURCE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT arg_OUTPUT_HEADER)
    get_filename_component(stem "${source}" NAME_WE)
    set(arg_OUTPUT_HEADER "${stem}_d.hpp")
  endif()
  get_filename_component(header "${arg_OUTPUT_HEADER}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  get_filename_component(header_dir "${header}" DIRECTORY)

  set(command ${PYCLAD_EXECUTABLE} gen "${source}" --mode ${arg_MODE} --std ${arg_STD})
  foreach(fn IN LISTS arg_FUNCTIONS)
    list(APPEND command -f ${fn})
  endforeach()
  if(DEFINED arg_WRT)
    list(APPEND command --wrt "${arg_WRT}")
  endif()
  if(DEFINED arg_ORDER)
    list(APPEND command --order ${arg_ORDER})
  endif()
  foreach(dir IN LISTS arg_INCLUDE_DIRECTORIES)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND command -I "${dir}")
  endforeach()
  foreach(def IN LISTS arg_DEFINITIONS)
    list(APPEND command -D "${def}")
  endforeach()
  list(APPEND command -o "${header}" -MD -MF "${header}.d")

  string(REPLACE ";" ", " names "${arg_FUNCTIONS}")
  add_custom_command(
    OUTPUT "${header}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${header_dir}"
    COMMAND ${command}
    DEPENDS "${source}"
    DEPFILE "${header}.d"
    COMMENT "pyclad: ${arg_MODE} derivatives of ${names}"
    VERBATIM)
  # A library passes the header on to what links it (its own build generates it first).
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    message(FATAL_ERROR "pyclad_add_derivatives: '${target}' is an INTERFACE library; "
      "give an executable or a library that compiles sources")
  endif()
  set(scope PUBLIC)
  if(type STREQUAL "EXECUTABLE")
    set(scope PRIVATE)
  endif()
  target_sources(${target} PRIVATE "${header}")
  target_include_directories(${target} ${scope} "${header_dir}")
  target_link_libraries(${target} ${scope} pyclad::runtime)
endfunction()

cmake_policy(POP)
set(pyclad_FOUND TRUE)

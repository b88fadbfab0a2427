# Small helpers instead of repeated target boilerplate.

# Warnings and sanitizers every Herald target gets.
function(herald_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(HERALD_ENABLE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(HERALD_ENABLE_SANITIZERS)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# herald_library(name SOURCES ... DEPS ...): one static library per top folder, so the
# dependency direction messages <- storage <- actors <- runtime is enforced by the linker.
function(herald_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  herald_target_defaults(${name})
endfunction()

# herald_executable(name SOURCES ... DEPS ...)
function(herald_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  herald_target_defaults(${name})
endfunction()

/* Argument helpers shared by the addon's source files (defined in reaper.c). */
#ifndef SKIFF_NAPI_ARGS_H
#define SKIFF_NAPI_ARGS_H

#include <node_api.h>

/* Copies a JS string argument into a malloc'ed C string; NULL (with a JS exception pending) when it is not one. */
char *string_arg(napi_env env, napi_value value, const char *usage);
/* A JavaScript number; NULL when Node-API failed. */
napi_value number_value(napi_env env, double value);

#endif

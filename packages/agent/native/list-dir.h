/* Directory listings with every entry's lstat: see list-dir.c. */
#ifndef SKIFF_LIST_DIR_H
#define SKIFF_LIST_DIR_H

#include <node_api.h>

napi_value lstat_dir(napi_env env, napi_callback_info info);
napi_value lstat_dirs(napi_env env, napi_callback_info info);

#endif

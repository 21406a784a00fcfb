/* SPDX-License-Identifier: MIT */
/* pyscope's version: `pyscope version`, and the header of every trace file. */
#ifndef PYSCOPE_VERSION_H
#define PYSCOPE_VERSION_H

#define PYSCOPE_VERSION "0.1.0"

#endif

// Configuration macros that code written for clad spells in its own declarations.
//
// pyclad's translated programs run on the host only, so the CUDA markers clad's
// headers put on every function are empty here; they are defined (not left out)
// because user code that defines its own custom derivatives writes them too.
#ifndef PYCLAD_CLAD_CONFIG_H
#define PYCLAD_CLAD_CONFIG_H

#ifndef CUDA_HOST_DEVICE
#define CUDA_HOST_DEVICE
#endif
#ifndef CUDA_DEVICE
#define CUDA_DEVICE
#endif

#endif  // PYCLAD_CLAD_CONFIG_H

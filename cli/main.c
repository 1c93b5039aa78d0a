#include "base/ks.h"
#include <stdio.h>
int main(void) { printf("ksink %s\n", KS_VERSION); return 0; }

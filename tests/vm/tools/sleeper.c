// framepace-vm-sleeper: sleeps until killed. Static and tiny, so that a test can run thousands
// of them (each a process of its own, under whatever name it is copied to) in a 2 GiB guest.
#include <unistd.h>

int main(void) {
    for (;;)
        pause();
}

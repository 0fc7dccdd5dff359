/* Links BPF objects into one with libbpf's static linker: what `bpftool gen object OUT IN...`
 * does, but with the project's libbpf instead of the older one inside bpftool 7.5.
 *   bpf_link_objects OUT.bpf.o IN.bpf.o...
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
    struct bpf_linker* linker;
    int i;

    if (argc < 3) {
        fprintf(stderr, "usage: %s OUT.bpf.o IN.bpf.o...\n", argv[0]);
        return 2;
    }
    linker = bpf_linker__new(argv[1], NULL);
    if (!linker) {
        fprintf(stderr, "bpf_link_objects: cannot create %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (i = 2; i < argc; i++) {
        if (bpf_linker__add_file(linker, argv[i], NULL)) {
            fprintf(stderr, "bpf_link_objects: cannot link %s into %s: %s\n", argv[i], argv[1],
                    strerror(errno));
            bpf_linker__free(linker);
            return 1;
        }
    }
    if (bpf_linker__finalize(linker)) {
        fprintf(stderr, "bpf_link_objects: cannot write %s: %s\n", argv[1], strerror(errno));
        bpf_linker__free(linker);
        return 1;
    }
    bpf_linker__free(linker);
    return 0;
}

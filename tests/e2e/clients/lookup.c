/* lookup: resolves names with getaddrinfo(AF_UNSPEC), as a C program in a Pod does; built
 * against glibc and, static, against musl (musl-gcc) by tests/e2e/test_resolver_matrix.py.
 *
 *   lookup NAME...
 *
 * Output, one line per NAME, in order:
 *   NAME ok ADDR ADDR...     (every distinct address, as getaddrinfo returned them)
 *   NAME notfound            (EAI_NONAME, EAI_NODATA: the name or its addresses do not exist)
 *   NAME error TEXT          (anything else, e.g. EAI_AGAIN after a timeout)
 */
#define _GNU_SOURCE  // EAI_NODATA in glibc
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void print_addresses(const char* name, const struct addrinfo* list) {
  char seen[256][INET6_ADDRSTRLEN];
  int count = 0;
  printf("%s ok", name);
  for (const struct addrinfo* ai = list; ai; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN];
    const void* addr = ai->ai_family == AF_INET
                           ? (const void*)&((const struct sockaddr_in*)ai->ai_addr)->sin_addr
                           : (const void*)&((const struct sockaddr_in6*)ai->ai_addr)->sin6_addr;
    if (!inet_ntop(ai->ai_family, addr, text, sizeof text)) continue;
    int dup = 0;
    for (int i = 0; i < count && !dup; ++i) dup = strcmp(seen[i], text) == 0;
    if (dup || count == 256) continue;
    strcpy(seen[count++], text);
    printf(" %s", text);
  }
  printf("\n");
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;  // A and AAAA, asked together
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* list = NULL;
    int rc = getaddrinfo(argv[i], NULL, &hints, &list);
    if (rc == 0) {
      print_addresses(argv[i], list);
      freeaddrinfo(list);
    } else if (rc == EAI_NONAME
#ifdef EAI_NODATA
               || rc == EAI_NODATA
#endif
    ) {
      printf("%s notfound\n", argv[i]);
    } else {
      printf("%s error %s\n", argv[i], gai_strerror(rc));
    }
    fflush(stdout);
  }
  return 0;
}

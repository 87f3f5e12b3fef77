/* cares_client: resolves names with c-ares the way a c-ares program in a Pod does, for
 * tests/e2e/test_resolvers.py.
 *
 *   cares_client [--tcp] NAME...
 *
 * The channel is configured only from the system (/etc/resolv.conf, which `ip netns exec`
 * bind-mounts from /etc/netns/NS/resolv.conf): its nameservers, search list and ndots, as
 * a Pod's program gets them. --tcp sets ARES_FLAG_USEVC (every query over TCP). Each NAME
 * is looked up with ares_gethostbyname(AF_INET), all of them at once, driven with
 * ares_fds/select/ares_process; the whole run gives up after 12 s.
 *
 * Output, on stdout:
 *   # servers ADDR:PORT... search DOMAIN... ndots N     (the configuration c-ares read)
 *   NAME ADDR ADDR...                                   (a name that resolved)
 *   # NAME canonical CNAME                              (its canonical name, h_name)
 *   NAME ERROR CODE TEXT                                (CODE: ares status, e.g. 4 = ARES_ENOTFOUND)
 * in the order the answers arrive. Exit 0 when every name resolved, 1 otherwise, 2 on a
 * usage or setup error.
 */
#define _POSIX_C_SOURCE 200809L  // clock_gettime, inet_ntop under -std=c11 too

#include <sys/select.h>  // before ares.h, which uses fd_set without including it
#include <sys/time.h>

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kDeadlineSeconds = 12 };

struct lookup {
  const char *name;
  int done;
  int ok;
};

static void on_host(void *arg, int status, int timeouts, struct hostent *host) {
  struct lookup *l = arg;
  (void)timeouts;
  if (status == ARES_EDESTRUCTION) return;  // ares_destroy at the deadline: reported already
  l->done = 1;
  if (status != ARES_SUCCESS || host == NULL) {
    printf("%s ERROR %d %s\n", l->name, status, ares_strerror(status));
    return;
  }
  l->ok = 1;
  printf("%s", l->name);
  for (char **a = host->h_addr_list; *a != NULL; ++a) {
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(host->h_addrtype, *a, text, sizeof text) != NULL) printf(" %s", text);
  }
  printf("\n# %s canonical %s\n", l->name, host->h_name ? host->h_name : "-");
}

static void print_config(ares_channel channel) {
  struct ares_options opts;
  int mask = 0;
  struct ares_addr_port_node *servers = NULL;
  printf("# servers");
  if (ares_get_servers_ports(channel, &servers) == ARES_SUCCESS) {
    for (struct ares_addr_port_node *s = servers; s != NULL; s = s->next) {
      char text[INET6_ADDRSTRLEN];
      int port = s->udp_port ? s->udp_port : 53;
      if (inet_ntop(s->family, &s->addr, text, sizeof text) != NULL) printf(" %s:%d", text, port);
    }
    ares_free_data(servers);
  }
  if (ares_save_options(channel, &opts, &mask) == ARES_SUCCESS) {
    printf(" search");
    for (int i = 0; i < opts.ndomains; ++i) printf(" %s", opts.domains[i]);
    printf(" ndots %d", opts.ndots);
    ares_destroy_options(&opts);
  }
  printf("\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int first = 1;
  int tcp = 0;
  if (argc > 1 && strcmp(argv[1], "--tcp") == 0) {
    tcp = 1;
    first = 2;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--tcp] NAME...\n", argv[0]);
    return 2;
  }
  int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    fprintf(stderr, "ares_library_init: %s\n", ares_strerror(status));
    return 2;
  }
  struct ares_options options;
  memset(&options, 0, sizeof options);
  options.flags = tcp ? ARES_FLAG_USEVC : 0;
  ares_channel channel;
  status = ares_init_options(&channel, &options, ARES_OPT_FLAGS);
  if (status != ARES_SUCCESS) {
    fprintf(stderr, "ares_init_options: %s\n", ares_strerror(status));
    ares_library_cleanup();
    return 2;
  }
  print_config(channel);

  int count = argc - first;
  struct lookup *lookups = calloc((size_t)count, sizeof *lookups);
  if (lookups == NULL) return 2;
  for (int i = 0; i < count; ++i) {
    lookups[i].name = argv[first + i];
    ares_gethostbyname(channel, lookups[i].name, AF_INET, on_host, &lookups[i]);
  }

  double deadline = now() + kDeadlineSeconds;
  for (;;) {
    fd_set readers, writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    int nfds = ares_fds(channel, &readers, &writers);
    if (nfds == 0) break;  // nothing in flight: every lookup has called back
    double left = deadline - now();
    if (left <= 0) break;
    struct timeval cap = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    struct timeval tv;
    struct timeval *wait = ares_timeout(channel, &cap, &tv);
    if (select(nfds, &readers, &writers, NULL, wait) < 0) {
      perror("select");
      break;
    }
    ares_process(channel, &readers, &writers);
    fflush(stdout);
  }

  int failed = 0;
  for (int i = 0; i < count; ++i) {
    if (!lookups[i].done) printf("%s ERROR -1 no answer within %d s\n", lookups[i].name,
                                 kDeadlineSeconds);
    if (!lookups[i].ok) failed = 1;
  }
  fflush(stdout);
  ares_destroy(channel);
  ares_library_cleanup();
  free(lookups);
  return failed;
}

// Lookup: resolves names with InetAddress.getAllByName, as a JVM in a Pod does, for
// tests/e2e/test_resolver_matrix.py. Same output as lookup.c: "NAME ok ADDR...",
// "NAME notfound" or "NAME error TEXT", one line per name. Run with
// -Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0 so that nothing is cached.
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashSet;
import java.util.Set;

public class Lookup {
  public static void main(String[] args) {
    for (String name : args) {
      try {
        Set<String> seen = new LinkedHashSet<>();
        for (InetAddress a : InetAddress.getAllByName(name)) seen.add(a.getHostAddress());
        System.out.println(name + " ok " + String.join(" ", seen));
      } catch (UnknownHostException e) {
        System.out.println(name + " notfound");
      } catch (Exception e) {
        System.out.println(name + " error " + e);
      }
    }
  }
}

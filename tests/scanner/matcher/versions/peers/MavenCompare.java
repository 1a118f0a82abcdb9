// Reference for Maven versions: ComparableVersion and VersionRange from Debian's
// maven-artifact jar. Commands, one per stdin line (tab-separated):
//   cmp A B        -> sign of new ComparableVersion(A).compareTo(new ComparableVersion(B))
//   range SPEC V   -> 1/0 VersionRange.createFromVersionSpec(SPEC).containsVersion(V); ERR if invalid
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;
import org.apache.maven.artifact.versioning.DefaultArtifactVersion;
import org.apache.maven.artifact.versioning.InvalidVersionSpecificationException;
import org.apache.maven.artifact.versioning.VersionRange;

public class MavenCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", -1);
            String answer;
            if (f[0].equals("cmp")) {
                answer = Integer.toString(Integer.signum(new ComparableVersion(f[1]).compareTo(new ComparableVersion(f[2]))));
            } else if (f[0].equals("range")) {
                try {
                    VersionRange range = VersionRange.createFromVersionSpec(f[1]);
                    answer = range.containsVersion(new DefaultArtifactVersion(f[2])) ? "1" : "0";
                } catch (InvalidVersionSpecificationException e) {
                    answer = "ERR";
                }
            } else {
                answer = "ERR";
            }
            out.println(answer);
        }
    }
}

package haproxylb.assembly;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * haproxy reports errors against the candidate file it was given ("parsing [/…/candidate/haproxy.cfg:57]");
 * an operator needs "shop.cfg line 3". Rewrites every such reference through the {@link SourceMap}.
 */
final class HaproxyMessages {
    private HaproxyMessages() {}

    static String translate(String output, String candidatePath, SourceMap sources) {
        Pattern ref = Pattern.compile(Pattern.quote(candidatePath) + ":(\\d+)");
        Matcher m = ref.matcher(output);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            int line = Integer.parseInt(m.group(1));
            String where = sources.origin(line).map(o -> o.file() + ":" + o.line())
                    .orElse("base config line " + line);
            m.appendReplacement(sb, Matcher.quoteReplacement(where));
        }
        m.appendTail(sb);
        return sb.toString().replace(candidatePath, "the assembled haproxy.cfg");
    }

    /** The first place in the output that points into a fragment, to lead the error with. */
    static Optional<SourceMap.Origin> firstOrigin(String output, String candidatePath, SourceMap sources) {
        Matcher m = Pattern.compile(Pattern.quote(candidatePath) + ":(\\d+)").matcher(output);
        while (m.find()) {
            Optional<SourceMap.Origin> o = sources.origin(Integer.parseInt(m.group(1)));
            if (o.isPresent()) {
                return o;
            }
        }
        return Optional.empty();
    }
}

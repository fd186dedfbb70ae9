package haproxylb.intake;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Operators' files arrive from Windows editors too: a UTF-8 BOM and CRLF line ends are accepted and normalised. */
final class TextDecoder {
    private TextDecoder() {}

    static String decode(String fragment, String file, byte[] bytes) throws FragmentProblem {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new FragmentProblem(fragment, file + ": is not UTF-8 text (binary or another encoding);"
                    + " save it as plain UTF-8 text");
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        text = text.replace("\r\n", "\n");
        int nul = text.indexOf('\0');
        if (nul >= 0) {
            int line = 1 + (int) text.substring(0, nul).chars().filter(c -> c == '\n').count();
            throw FragmentProblem.at(fragment, file, line, "contains a NUL byte; this is not a text file");
        }
        return text;
    }
}

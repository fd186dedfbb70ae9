package haproxylb.intake;

import haproxylb.common.Excerpt;

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
            throw FragmentProblem.at(fragment, file, lineOf(text, nul), "contains a NUL byte; this is not a text file");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            // haproxy quotes a bad word verbatim in its errors, which reach operators' terminals through the status:
            // escape sequences (ESC, BEL, C1) and invisible characters (bidi overrides) are not config text.
            if (c != '\n' && c != '\t' && (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT)) {
                throw FragmentProblem.at(fragment, file, lineOf(text, i), "contains the control or invisible character "
                        + Excerpt.of(String.valueOf(c)) + "; only printable text, spaces and tabs are allowed");
            }
        }
        return text;
    }

    private static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }
}
